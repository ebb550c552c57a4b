"""The PDF of a document: WeasyPrint, without the costs a render can avoid.

A plan of 40 actions is mostly tables. Measured with ``bench/docs.py`` and
a profile of its render, most of the time is WeasyPrint laying out and
drawing ~1,200 lines of text, which only less text would cut; three costs
around it are avoided here:

* **The tables' automatic layout** (a sixth of the render). Before it lays
  out a table in the automatic layout, WeasyPrint measures every cell's
  narrowest width by laying its text out again for every word. The PDF's
  tables use the fixed layout instead, with column widths worked out here
  from the length of their text as the automatic layout would (at least
  the longest word, at most the longest text, the space between shared in
  proportion): the same columns, within a few per cent. A width is the
  longest word in em plus a share of the rest, so a column keeps its
  longest word whole even if the type is not quite the size assumed
  (11 pt, or 18 pt in large print). A table with merged cells or its
  own columns, or whose words do not fit side by side (several columns in
  large print), keeps the automatic layout. Only the PDF's tree is
  changed, not the HTML.
* **Python's cycle collector** (a twelfth). A render makes some 40,000
  objects in reference cycles, and the full collection it set off walked
  every object of the process; the collector is paused while documents
  render (across threads: the last render to finish restarts it) and the
  render's cycles, all in the youngest generation, collected at its end.
* **Fonts** (a little, and half of a short document's time). A
  ``FontConfiguration`` (fontconfig's fonts and Pango's font map, with
  their caches) is made once per thread and kept: Pango objects must not
  be used by two threads at once, and a worker renders many documents in
  one thread. Documents fetch nothing, so an ``@font-face`` can only name
  an installed font.

The PDF is PDF/UA-1 (WeasyPrint's ``pdf/ua-1`` variant): tagged (the tags
cost ~10%: kept), with the identification ``pdfuaid:part`` 1 and the title in
XMP metadata, the document's language (the template's ``<html lang>``) and
its title (``<title>``) shown by readers. Header cells are tied to their
data cells by IDs and ``Headers`` (a ``<th scope="row">`` to its row, any
other to its column). The same document gives the same bytes: the
identifier comes from the document's key, and the fonts' subsets carry a
fixed date. Documents never fetch anything: WeasyPrint's URL fetcher
refuses every URL, so a template cannot make the worker call out.
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

# The width of a table: A4 (210 mm) less the page's margins in base.html
# (16 mm each side) and the body's (8 px each side, WeasyPrint's default), in points.
TABLE_WIDTH_PT = (210 - 32) / 25.4 * 72 - 2 * 6
BODY_PT = 11.0  # base.html's type size
LARGE_PRINT_PT = 18.0  # and in large print (<body class="large-print">)
# Characters' widths (em) in DejaVu Sans, roughly: narrow, wide, capitals,
# and 0.62 for the rest; its bold (the header cells) is a tenth wider.
_WIDTHS = {
    **dict.fromkeys(" ", 0.32),
    **dict.fromkeys("fijlrtI!'.,:;|/\\()[]-", 0.36),
    **dict.fromkeys("mwMW@%", 0.97),
    **dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ", 0.70),
}
OTHER_EM = 0.62
BOLD_FACTOR = 1.1
WORD_MARGIN = 1.08  # so that an estimate a little short does not break a word
CELL_PADDING_EM = 0.85  # .4em each side, and the border

# fontTools stamps each embedded font subset with the time it was made,
# unless SOURCE_DATE_EPOCH (the reproducible-builds convention) says which
# time: fixed here so that the same document gives the same bytes.
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")


class NoFetching(Exception):
    pass


def refuse_fetching(url: str, *args: Any, **kwargs: Any):
    raise NoFetching(f"documents fetch nothing ({url})")


LARGE_PRINT_PADDING_EM = 1.05

_local = threading.local()
_gc_lock = threading.Lock()
_gc_renders = 0
_gc_restart = False


def font_config():
    """This thread's FontConfiguration, made on first use."""
    config = getattr(_local, "font_config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _local.font_config = FontConfiguration()
    return config


@contextmanager
def cycle_collector_paused():
    """No automatic cycle collection while any thread renders a document."""
    global _gc_renders, _gc_restart
    with _gc_lock:
        if _gc_renders == 0:
            _gc_restart = gc.isenabled()
            gc.disable()
        _gc_renders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_renders -= 1
            last = _gc_renders == 0
            if last and _gc_restart:
                gc.enable()
        if last:
            gc.collect(0)  # the render's own cycles, all still in the youngest generation


def _em(text: str) -> float:
    return sum(_WIDTHS.get(char, OTHER_EM) for char in text)


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def _rows(table) -> list:
    rows = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if row.tag == "tr")
    head = [row for child in table if child.tag == "thead" for row in child if row.tag == "tr"]
    if head and rows[0] is not head[0]:  # the header group is laid out first
        rows.remove(head[0])
        rows.insert(0, head[0])
    return rows


def column_widths(
    texts: list[list[tuple[str, bool]]], width_em: float, padding_em: float
) -> list[tuple[float, float]] | None:
    """Each column's width, from its cells' texts ((text, is_header) by row)
    in a table ``width_em`` wide: at least its longest word, at most its
    longest text, the space between shared as the automatic table layout
    does (in proportion to what each column could still use), or None when
    not even the words fit.

    A width is (fraction of the table, em): the longest word in em and a
    share of what the words leave, so that the widths add up to the table
    whatever its width and type size, and no column is narrower than its
    longest word while the words fit."""
    columns = max((len(row) for row in texts), default=0)
    if not columns:
        return None
    least, most = [padding_em] * columns, [padding_em] * columns
    for row in texts:
        for i, (text, header) in enumerate(row):
            factor = BOLD_FACTOR if header else 1.0
            longest_word = max((_em(word) for word in text.split()), default=0.0)
            least[i] = max(least[i], longest_word * factor * WORD_MARGIN + padding_em)
            most[i] = max(most[i], _em(text) * factor + padding_em)
    most = [max(lo, hi) for lo, hi in zip(least, most)]
    spare = width_em - sum(least)
    if spare <= 0:
        return None
    if sum(most) <= width_em:  # every cell on one line: the rest shared as the widths are
        targets = [hi * width_em / sum(most) for hi in most]
    else:
        targets = [lo + (hi - lo) * spare / (sum(most) - sum(least)) for lo, hi in zip(least, most)]
    shares = [(target - lo) / spare for lo, target in zip(least, targets)]
    return [(share, lo - share * sum(least)) for lo, share in zip(least, shares)]


def _add_style(element, declarations: str) -> None:
    style = (element.get("style") or "").strip()
    if style and not style.endswith(";"):
        style += ";"
    element.set("style", f"{style} {declarations}".strip())


def fix_table_layouts(root) -> int:
    """Give the tables of a parsed document a fixed layout and column widths
    (see the module's docstring); returns how many tables were changed."""
    body = root.find("body")
    large = body is not None and "large-print" in (body.get("class") or "").split()
    font_pt = LARGE_PRINT_PT if large else BODY_PT
    padding_em = LARGE_PRINT_PADDING_EM if large else CELL_PADDING_EM
    width_em = TABLE_WIDTH_PT / font_pt
    changed = 0
    for table in root.iter("table"):
        if "table-layout" in (table.get("style") or "") or any(
            element.tag in ("col", "colgroup", "table") for element in table.iter() if element is not table
        ):
            continue
        rows = _rows(table)
        cells = [[cell for cell in row if cell.tag in ("td", "th")] for row in rows]
        if (
            not cells
            or not cells[0]
            or any(
                cell.get("colspan", "1").strip() != "1" or cell.get("rowspan", "1").strip() != "1"
                for row in cells
                for cell in row
            )
            or len({len(row) for row in cells}) != 1
        ):
            continue
        widths = column_widths(
            [[(_text(cell), cell.tag == "th") for cell in row] for row in cells], width_em, padding_em
        )
        if widths is None:
            continue
        _add_style(table, "table-layout: fixed;")
        for cell, (share, em) in zip(cells[0], widths):
            _add_style(
                cell,
                f"width: calc({100 * share:.4f}% {'-' if em < 0 else '+'} {abs(em):.4f}em); box-sizing: border-box;",
            )
        changed += 1
    return changed


def tagged_pdf(html: str, identifier: bytes, url_fetcher: Callable[..., Any]) -> bytes:
    """The tagged PDF/UA-1 PDF of ``html``, with this PDF file identifier."""
    from weasyprint import HTML  # imported on first use: ~0.6 s, not every process renders

    with cycle_collector_paused():
        document = HTML(string=html, url_fetcher=url_fetcher)
        fix_table_layouts(document.etree_element)
        return document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=identifier, font_config=font_config())


def document_pdf(html: str, key: str) -> bytes:
    """The PDF of a document's HTML; its file identifier comes from the
    document's key, so the same document gives the same bytes."""
    identifier = hashlib.sha256(key.encode()).hexdigest()[:32].encode()
    return tagged_pdf(html, identifier, refuse_fetching)
