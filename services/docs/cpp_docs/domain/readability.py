"""How hard a document is to read: textstat (0.7.8, offline with cmudict)
on the text a reader sees.

The visible text is the body's text without the styles; each block
(heading, paragraph, list item, table cell, term) is read as a sentence of
its own, ended with a full stop when it has none, as a reader meets it: a
table of short cells is not one long sentence.
"""

from __future__ import annotations

from html.parser import HTMLParser

BLOCKS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "li",
    "td",
    "th",
    "dt",
    "dd",
    "caption",
    "title",
    "br",
    "section",
    "header",
    "footer",
    "tr",
}
HIDDEN = {"style", "script", "head"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.hidden = 0

    def _end_block(self) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        if text:
            self.blocks.append(text if text[-1] in ".!?:;" else text + ".")

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN:
            self.hidden += 1
        elif tag in BLOCKS:
            self._end_block()

    def handle_endtag(self, tag):
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCKS:
            self._end_block()

    def handle_data(self, data):
        if not self.hidden:
            self.current.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    parser._end_block()
    return "\n".join(parser.blocks)


def scores(html: str) -> dict[str, float]:
    """Flesch-Kincaid grade (US school grade; reading age is about grade + 5)
    and Flesch reading ease (0-100, higher is easier) of the visible text."""
    import textstat  # loads its syllable dictionary on first use

    text = visible_text(html)
    return {
        "flesch_kincaid_grade": round(float(textstat.flesch_kincaid_grade(text)), 2),
        "flesch_reading_ease": round(float(textstat.flesch_reading_ease(text)), 2),
    }
