"""A capture's traffic as a gzipped WARC 1.1 file (request and response records, warcinfo first).

Bodies are the decoded bytes the browser worked with, so `Content-Encoding` and
`Transfer-Encoding` are dropped from the stored headers and `Content-Length` states the stored size;
the original header values stay in `X-Hotline-Original-*` headers. The egress point's verdict on
each connection is in `capture.json`, next to this file.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.traffic import Exchange

REWRITTEN = ("content-encoding", "transfer-encoding", "content-length")


def warc_bytes(exchanges: Iterable[Exchange], info: dict[str, Any]) -> bytes:
    """The WARC of these exchanges; `info` becomes the warcinfo record (software, policy, times)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record("capture.warc.gz", info))
    for exchange in exchanges:
        if exchange.status is None or not exchange.url.startswith(("http://", "https://")):
            continue
        date = exchange.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        response = _response_record(writer, exchange, date)
        writer.write_record(response)
        request = _request_record(writer, exchange, date)
        request.rec_headers.add_header(
            "WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID")
        )
        writer.write_record(request)
    return buffer.getvalue()


def _response_record(writer: WARCWriter, exchange: Exchange, date: str) -> Any:
    body = exchange.body or b""
    headers = []
    for name, value in exchange.response_headers.items():
        lower = name.lower()
        if lower in REWRITTEN:
            headers.append((f"X-Hotline-Original-{name}", value))
        else:
            for line in value.split("\n"):  # Playwright joins repeated headers (Set-Cookie) with \n
                headers.append((name, line))
    headers.append(("Content-Length", str(len(body))))
    if exchange.body is None and exchange.body_note:
        headers.append(("X-Hotline-Body", exchange.body_note))
    status = f"{exchange.status} {exchange.status_text or 'Unknown'}"
    http_headers = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    return writer.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": date},
    )


def _request_record(writer: WARCWriter, exchange: Exchange, date: str) -> Any:
    body = exchange.request_body or b""
    path = exchange.url.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    headers = [(k, v) for k, v in exchange.request_headers.items() if not k.startswith(":")]
    http_headers = StatusAndHeaders(f"{exchange.method} {path}", headers, protocol="HTTP/1.1")
    return writer.create_warc_record(
        exchange.url,
        "request",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": date},
    )
