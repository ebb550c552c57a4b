"""The docs service's PDFs, as served, identified as PDF/UA-1 and checked by
other people's tools: pdfua 0.1.3 (PDF/UA-1's machine-checkable rules, on
pikepdf) and poppler's pdfinfo (the metadata a reader shows)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pikepdf
import pytest
from pdfua import Severity, Validator
from pdfua.rules import structure

from tests.services.conftest import plans, plans_app, plans_store  # noqa: F401 - fixtures
from tests.services.test_docs_http import agreed_plan, docs, docs_app, docs_ctx, listed  # noqa: F401 - fixtures

TITLES = {"outline_plan": "Outline child protection plan", "professional_plan": "Child protection plan",
          "family_plan": "Your child protection plan", "core_group_record": "Core group meeting record"}
# pdfua 0.1.3 counts a table's header cells as associated with its data cells
# only when a header cell (/TH) carries /Scope or /Headers. WeasyPrint 70 makes
# the association the other way PDF/UA-1 allows (ISO 14289-1 7.5: Headers and
# IDs): each header cell has an /ID and each data cell /Headers naming its
# column's (or, for <th scope="row">, its row's) header cells, and it writes
# no /Scope. So this heuristic warning cannot be met with WeasyPrint; the
# association it looks for is checked below (headers_are_associated) instead.
WEASYPRINT_TABLE_WARNING = "UA-15-003"


original_as_integer = structure.as_integer


def tolerant_as_integer(value):
    """pdfua's ``as_integer``, for pikepdf 10: asking an array for an
    attribute raises ValueError there, not AttributeError, so pdfua 0.1.3's
    empty-heading rule (UA-14-001) stops with "rule raised ValueError" at the
    first heading whose /K is an array (WeasyPrint's always are) and is
    reported skipped, unchecked. An array is not a number."""
    return None if isinstance(value, pikepdf.Array) else original_as_integer(value)


def weasyprints_table_warning(finding) -> bool:
    """The UA-15-003 warning WeasyPrint's tables cannot avoid (above), and
    only it: not the rule's error for a table without header cells."""
    return finding.rule_id == WEASYPRINT_TABLE_WARNING and finding.severity is Severity.WARNING \
        and finding.evidence.get("associated_headers") == 0


def pdfua_report(path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(structure, "as_integer", tolerant_as_integer)
        return Validator().validate(str(path))


def pdfinfo(path, *options) -> str:
    if shutil.which("pdfinfo") is None:
        pytest.fail("pdfinfo is not installed: install Debian's poppler-utils (scripts/ensure-debian-packages)")
    return subprocess.run(["pdfinfo", *options, str(path)], capture_output=True, text=True, check=True).stdout


def fields(text: str) -> dict[str, str]:
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}


def headers_are_associated(path) -> int:
    """Check that every data cell of every table names, in /Headers, header
    cells of its own table by their /ID; returns how many data cells."""
    cells = 0
    with pikepdf.open(path) as pdf:
        def walk(node, table):
            if not isinstance(node, pikepdf.Dictionary):
                return
            role = node.get("/S")
            if role == "/Table":
                table = {"ids": set(), "headers": []}
                tables.append(table)
            elif role == "/TH" and "/ID" in node:
                table["ids"].add(bytes(node.ID))
            elif role == "/TD":
                table["headers"].append([bytes(h) for h in node.A.get("/Headers", [])])
            kids = node.get("/K")
            for kid in (kids if isinstance(kids, pikepdf.Array) else [kids]):
                walk(kid, table)

        tables: list[dict] = []
        walk(pdf.Root.StructTreeRoot, None)
        assert tables
        for table in tables:
            for names in table["headers"]:
                assert names and set(names) <= table["ids"], (names, table["ids"])
                cells += 1
    return cells


@pytest.mark.slow
def test_the_plans_pdfs_are_identified_as_pdf_ua_1_and_pass_pdfua(agreed_plan, docs, tmp_path):
    """Every document of a plan agreed at its core group: the outline plan,
    the family plan (versions 1 and 2), the core group's record and the
    professional plan."""
    sw = agreed_plan["sw"]
    documents = listed(docs, agreed_plan["plan_id"], sw)
    pdfs = {(kind, version): row for (kind, version, _, _, fmt), row in documents.items() if fmt == "pdf"}
    assert {("professional_plan", 2), ("family_plan", 2)} <= set(pdfs)
    for (kind, version, _, _, fmt), row in documents.items():
        if fmt == "html":  # what the PDF's tables are made from
            header_cells = re.findall(r"<th\b[^>]*>", docs.get(row["url"], headers=sw).get_data(as_text=True))
            assert header_cells and all(re.search(r'scope="(col|row)"', th) for th in header_cells), kind
    for (kind, version), row in sorted(pdfs.items()):
        path = tmp_path / f"{kind}-{version}.pdf"
        path.write_bytes(docs.get(row["url"], headers=sw).data)

        report = pdfua_report(path)
        assert not report.skipped, [(o.rule_id, o.skipped_reason) for o in report.skipped]
        others = [(f.rule_id, f.severity.name, f.message) for f in report.findings
                  if not weasyprints_table_warning(f)]
        assert not others, f"pdfua on the {kind} (version {version}): {others}"
        assert headers_are_associated(path) > 0

        info = fields(pdfinfo(path))
        assert info["Title"] == TITLES[kind] and info["Tagged"] == "yes", info
        assert info["Metadata Stream"] == "yes" and info["PDF version"] == "1.7", info
        metadata = pdfinfo(path, "-meta")
        assert 'pdfuaid:part="1"' in metadata or "<pdfuaid:part>1</pdfuaid:part>" in metadata, metadata
        assert f'<rdf:li xml:lang="x-default">{TITLES[kind]}</rdf:li>' in metadata
        with pikepdf.open(path) as pdf:
            assert str(pdf.Root.Lang) == "en-GB"
            assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
