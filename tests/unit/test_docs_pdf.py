"""The docs service's PDFs: tables in the fixed layout with widths from
their text (no word broken, the HTML itself untouched), the cycle collector
paused only while a document renders, fonts kept per thread."""

from __future__ import annotations

import gc
import hashlib
import re
import subprocess
import threading

import pytest
from weasyprint import HTML

from cpp_docs import pdf

ROWS = "".join(
    f"<tr><td>Action {i}: keep the kitchen clean and safe every day</td><td>Alex Parent (mother)</td>"
    f"<td>hana.visitor{i}@nhs.example</td><td>Wednesday 15 April 2099</td><td>Not started</td></tr>"
    for i in range(12)
)
PAGE = (
    "<!DOCTYPE html><html lang='en-GB'><head><title>Plan</title><style>"
    "table { border-collapse: collapse; width: 100% } th, td { border: 1px solid; padding: .25em .4em;"
    " overflow-wrap: break-word }</style></head><body{body}><h1>Plan</h1>"
    "<table><thead><tr><th scope='col'>What</th><th scope='col'>Who</th><th scope='col'>Email</th>"
    "<th scope='col'>By when</th><th scope='col'>Status</th></tr></thead><tbody>" + ROWS + "</tbody></table>"
    "<table><tr><td colspan='2'>Merged</td></tr><tr><td>a</td><td>b</td></tr></table></body></html>"
)


def words(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split()


def test_columns_get_at_least_their_longest_word_and_share_the_rest():
    texts = [
        [("What", True), ("Email", True), ("Done", True)],
        [
            ("Keep the kitchen clean and safe every day, and the stairs clear", False),
            ("hana.visitor@nhs.example", False),
            ("No", False),
        ],
    ]
    email = pdf._em("hana.visitor@nhs.example") + 0.85
    widths = pdf.column_widths(texts, width_em=45, padding_em=0.85)
    for table_em in (30, 45, 60):  # whatever the table's width and type size
        got = [share * table_em + em for share, em in widths]
        assert sum(got) == pytest.approx(table_em)
        assert got[1] >= email  # the address is never broken
    at_45 = [share * 45 + em for share, em in widths]
    assert at_45[0] > at_45[1] > at_45[2]  # the long text gets most of the rest
    # Words that cannot all fit: the table keeps the automatic layout.
    assert pdf.column_widths(texts, width_em=12, padding_em=0.85) is None


def automatic(html: str) -> bytes:
    return HTML(string=html, url_fetcher=pdf.refuse_fetching).write_pdf(pdf_tags=True)


def test_the_pdf_tables_are_fixed_but_the_html_is_not(tmp_path):
    html = PAGE.replace("{body}", "")
    document = HTML(string=html, url_fetcher=pdf.refuse_fetching)
    assert pdf.fix_table_layouts(document.etree_element) == 1  # not the table with merged cells
    first, merged = list(document.etree_element.iter("table"))
    assert "table-layout: fixed" in first.get("style") and merged.get("style") is None
    assert "table-layout" not in html

    got = words(pdf.document_pdf(html, "plan-1:pdf"), tmp_path)
    assert set(got) <= set(words(automatic(html), tmp_path))  # no word broken in two
    for i in range(12):
        assert f"hana.visitor{i}@nhs.example" in got
    assert got.count("Wednesday") == 12 and got.count("kitchen") == 12


def test_large_print_tables_are_measured_in_its_larger_type(tmp_path):
    html = PAGE.replace("{body}", " class='large-print'").replace("</style>", "body { font-size: 18pt }</style>")
    document = HTML(string=html, url_fetcher=pdf.refuse_fetching)
    assert pdf.fix_table_layouts(document.etree_element) == 0  # 18 pt: the five columns' words do not fit
    three = (
        re.sub(r"<td>hana[^<]*</td>", "", html.replace("<th scope='col'>Email</th>", ""))
        .replace("<th scope='col'>Status</th>", "")
        .replace("<td>Not started</td>", "")
    )
    document = HTML(string=three, url_fetcher=pdf.refuse_fetching)
    assert pdf.fix_table_layouts(document.etree_element) == 1
    got = words(pdf.document_pdf(three, "plan-1:pdf"), tmp_path)
    assert set(got) <= set(words(automatic(three), tmp_path))
    assert got.count("kitchen") == 12 and got.count("Wednesday") == 12


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_is_as_it_was_after_a_render(enabled):
    (gc.enable if enabled else gc.disable)()
    try:
        pdf.document_pdf(PAGE.replace("{body}", ""), "plan-1:pdf")
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_threads_render_the_same_bytes():
    html = PAGE.replace("{body}", "")
    alone = pdf.document_pdf(html, "plan-1:pdf")
    got = []

    def render():
        got.append(pdf.document_pdf(html, "plan-1:pdf"))

    threads = [threading.Thread(target=render) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {hashlib.sha256(data).hexdigest() for data in got} == {hashlib.sha256(alone).hexdigest()}
    assert gc.isenabled()
