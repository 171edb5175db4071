"""Where a sweep's pages and pictures go: a callable the caller gives (`Sink`), reached by the
Scrapy item pipeline through a key (`crawler.sweep.handles`)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from crawler.sweep.handles import handed
from crawler.sweep.spider import PageItem, PictureItem

Sink = Callable[[PageItem | PictureItem], None]


class SinkPipeline:
    """Hands every item to the sweep's sink (a callable in the settings)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler: Any) -> SinkPipeline:
        return cls(handed(crawler.settings["HOTLINE_SINK"]))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        self.sink(item)
        return item


class JsonLinesSink:
    """Pages as they are; pictures as their sha256 and size (the bytes, base64, when asked)."""

    def __init__(self, out: Any, with_bytes: bool = False) -> None:
        self.out, self.with_bytes = out, with_bytes

    def __call__(self, item: PageItem | PictureItem) -> None:
        if isinstance(item, PageItem):
            row: dict[str, Any] = {"kind": "page", **asdict(item)}
            row["html"] = len(item.html)
        else:
            row = {
                "kind": "picture",
                "url": item.url,
                "page_url": item.page_url,
                "sha256": hashlib.sha256(item.data).hexdigest(),
                "bytes": len(item.data),
                "content_type": item.content_type,
            }
            if self.with_bytes:
                row["data"] = base64.b64encode(item.data).decode()
        self.out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self.out.flush()
