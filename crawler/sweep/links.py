"""The links of an HTML page, as written (`href` of `a` and `area`), tolerant of broken markup.
Shared by the seeds from stored captures and anything else that reads links without Scrapy."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

MAX_LINKS = 5000


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("a", "area") and len(self.found) < MAX_LINKS:
            for name, value in attrs:
                if name == "href" and value and value.strip():
                    self.found.append(value.strip())


def page_links(html: str) -> list[str]:
    """Hrefs in page order, each once; `javascript:`, `mailto:` and fragments left out."""
    parser = _Links()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        pass
    kept = [
        href
        for href in parser.found
        if not href.startswith(("#", "javascript:", "mailto:", "tel:", "data:"))
    ]
    return list(dict.fromkeys(kept))
