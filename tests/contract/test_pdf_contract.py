"""The docs service's PDFs, as served, identified as PDF/UA-1 and checked by
other people's tools: pdfua 0.1.3 (PDF/UA-1's machine-checkable rules, on
pikepdf) and poppler's pdfinfo (the metadata a reader shows)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from html import escape, unescape

import pikepdf
import pytest
from pdfua import Severity, Validator
from pdfua.rules import structure

from cpp_docs.render import Renderer
from tests.services.conftest import plans, plans_app, plans_store  # noqa: F401 - fixtures
from tests.services.test_docs_http import agreed_plan, docs, docs_app, docs_ctx, listed  # noqa: F401 - fixtures
from tests.services.test_docs_reports_http import countersigned_report, gsy  # noqa: F401 - a fixture
from tests.services.test_docs_reports_http import listed as listed_for_report

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
    return (
        finding.rule_id == WEASYPRINT_TABLE_WARNING
        and finding.severity is Severity.WARNING
        and finding.evidence.get("associated_headers") == 0
    )


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


def tables(node, found: list | None = None, table: dict | None = None) -> list[dict]:
    """The tables of a structure tree: each header cell's /ID and each data
    cell's /Headers."""
    found = [] if found is None else found
    if isinstance(node, pikepdf.Dictionary):
        role = node.get("/S")
        if role == "/Table":
            table = {"ids": set(), "headers": []}
            found.append(table)
        elif role == "/TH" and "/ID" in node:
            table["ids"].add(bytes(node.ID))
        elif role == "/TD":
            table["headers"].append({bytes(h) for h in node.A.get("/Headers", [])})
        kids = node.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            tables(kid, found, table)
    return found


def headers_are_associated(path) -> int:
    """Check that every data cell of every table names, in /Headers, header
    cells of its own table by their /ID; returns how many data cells."""
    with pikepdf.open(path) as pdf:
        found = tables(pdf.Root.StructTreeRoot)
    assert found
    for table in found:
        for names in table["headers"]:
            assert names and names <= table["ids"], (names, table["ids"])
    return sum(len(table["headers"]) for table in found)


def check_document(html: str, pdf: bytes, path) -> None:
    """One document, its HTML and its PDF: header cells with a scope in the
    HTML; pdfua's rules passed and the PDF/UA-1 identification, the title
    and the language in the PDF."""
    header_cells = re.findall(r"<th\b[^>]*>", html)
    assert header_cells and all(re.search(r'scope="(col|row)"', th) for th in header_cells), header_cells
    title = unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip())
    lang = re.search(r'<html lang="([^"]+)">', html).group(1)
    path.write_bytes(pdf)

    report = pdfua_report(path)
    assert not report.skipped, [(o.rule_id, o.skipped_reason) for o in report.skipped]
    others = [(f.rule_id, f.severity.name, f.message) for f in report.findings if not weasyprints_table_warning(f)]
    assert not others, f"pdfua on {path.name}: {others}"
    assert headers_are_associated(path) > 0

    info = fields(pdfinfo(path))
    assert info["Title"] == title and info["Tagged"] == "yes", info
    assert info["Metadata Stream"] == "yes" and info["PDF version"] == "1.7", info
    metadata = pdfinfo(path, "-meta")
    assert 'pdfuaid:part="1"' in metadata or "<pdfuaid:part>1</pdfuaid:part>" in metadata, metadata
    assert f'<rdf:li xml:lang="x-default">{escape(title, quote=False)}</rdf:li>' in metadata, metadata
    with pikepdf.open(path) as document:
        assert str(document.Root.Lang) == lang
        assert document.Root.ViewerPreferences.DisplayDocTitle is True


def check_documents(docs, documents: dict, headers, tmp_path) -> set[str]:
    """check_document for each document listed (by kind, version, language,
    large print and format); returns their kinds."""
    for (kind, version, lang, large, fmt), row in sorted(documents.items(), key=str):
        if fmt == "pdf":
            html = documents[(kind, version, lang, large, "html")]
            check_document(
                docs.get(html["url"], headers=headers).get_data(as_text=True),
                docs.get(row["url"], headers=headers).data,
                tmp_path / f"{kind}-{version}.pdf",
            )
    return {kind for kind, *_ in documents}


@pytest.mark.slow
def test_a_plans_pdfs_are_identified_as_pdf_ua_1_and_pass_pdfua(agreed_plan, docs, tmp_path):
    """Every document of a plan agreed at its core group: the outline plan,
    the family plan (versions 1 and 2), the core group's record and the
    professional plan."""
    sw = agreed_plan["sw"]
    kinds = check_documents(docs, listed(docs, agreed_plan["plan_id"], sw), sw, tmp_path)
    assert {"professional_plan", "family_plan"} <= kinds


def test_a_reports_pdfs_are_identified_as_pdf_ua_1_and_pass_pdfua(gsy, tmp_path):
    """A countersigned report to conference: the professional and the family version."""
    plans, docs, docs_ctx, pump, who = gsy
    made = countersigned_report(plans, who, child_seen=[{"on": date.today().isoformat(), "alone": True}])
    pump()
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0
    sw = who["social_worker"]
    kinds = check_documents(docs, listed_for_report(docs, made["report_id"], sw), sw, tmp_path)
    assert kinds == {"conference_report", "family_report"}
