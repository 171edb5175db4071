"""The hostile web: pages that fight the capture, served on 127.0.0.1 and told apart by Host.

Reporters send the hotline links to sites that loop, hang, explode, pop up, download or cloak. A
capture worker must come back from every one of them with a definite outcome and in time, so the
tests point a real Chromium at these pages through `host_map`, exactly like the sandbox web.

Everything here is synthetic: invented names and texts, Pillow-drawn shapes, runs of zero bytes.
Pages marked `refused_target` steer the browser at addresses the egress point must refuse (a
private network, the cloud metadata service); they belong in the network-namespace suite, where
nothing could leave loopback even if the refusal failed.
"""

from __future__ import annotations

import base64
import contextlib
import io
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

MAX_HOLD_S = 600.0
HUGE_BODY_BYTES = 300 * 1024 * 1024
GZIP_BOMB_BYTES = 1 << 30
IMAGE_BOMB_SIDE = 30_000
REDIRECT_CHAIN = 30
IFRAME_DEPTH = 10
# The attachment's bytes carry this marker, so a test can search the disk for a written download.
DOWNLOAD_MARKER = "HOTLINE-HOSTILE-DOWNLOAD-5c1e"
REFUSED_PRIVATE = "http://10.0.0.1/"
REFUSED_METADATA = "http://169.254.169.254/latest/meta-data/"

TRAP = "trap.hostile.kz"  # redirect games
BOMB = "bomb.hostile.kz"  # bodies too big to swallow
SLOW = "slow.hostile.kz"  # servers that hold or drip
SCRIPT = "script.hostile.kz"  # scripts that fight the browser
PEEK = "peek.hostile.kz"  # pages that reach for refused addresses
ODD = "odd.hostile.kz"  # odd but legal web: frames, charsets, broken markup, status codes
CLOAK = "cloak.example-hostile.com"  # shows crawlers something else than people
HOSTS: tuple[str, ...] = (TRAP, BOMB, SLOW, SCRIPT, PEEK, ODD, CLOAK)

CLOAK_BENIGN = "Рецепт бауырсаков: мука, кефир, щепотка соли."
CLOAK_AD = "Казино «Жұлдыз-777»: бонус 300% на первый депозит, вывод за 5 минут."
KAZAKH_TEXT = "Сәлем, әлем! Қазақ тілінде жазылған мәтін. Привет: кодировка объявлена неверно."


@dataclass(frozen=True)
class HostilePage:
    """One hostile behaviour: where it lives, what it does, what a sound capture makes of it."""

    name: str
    url: str
    does: str
    expect: str
    refused_target: bool = False


HOSTILE_PAGES: tuple[HostilePage, ...] = (
    HostilePage(
        "redirect-loop",
        f"http://{TRAP}/loop/a",
        "HTTP 302 from /loop/a to /loop/b and back, forever",
        "network_error naming too many redirects",
    ),
    HostilePage(
        "redirect-chain-30",
        f"http://{TRAP}/chain/{REDIRECT_CHAIN}",
        f"{REDIRECT_CHAIN} HTTP redirects in a row before a real page",
        "network_error naming too many redirects, or the whole chain recorded",
    ),
    HostilePage(
        "meta-refresh-loop",
        f"http://{TRAP}/meta/a",
        "<meta http-equiv=refresh> from /meta/a to /meta/b and back",
        "ends in time; the navigations are recorded and the loop is stopped",
    ),
    HostilePage(
        "js-location-loop",
        f"http://{TRAP}/js/a",
        "script sets location.href from /js/a to /js/b and back",
        "ends in time; the navigations are recorded and the loop is stopped",
    ),
    HostilePage(
        "redirect-to-private",
        f"http://{TRAP}/to-private",
        f"HTTP 302 to {REFUSED_PRIVATE}",
        "refused by the egress point; nothing reaches the private network",
        refused_target=True,
    ),
    HostilePage(
        "redirect-to-metadata",
        f"http://{TRAP}/to-metadata",
        f"HTTP 302 to the cloud metadata service {REFUSED_METADATA}",
        "refused by the egress point; nothing reaches the metadata address",
        refused_target=True,
    ),
    HostilePage(
        "redirect-to-file",
        f"http://{TRAP}/to-file",
        "HTTP 302 to file:///etc/passwd",
        "the redirect is refused; no local file content ever appears in the capture",
    ),
    HostilePage(
        "endless-chunked",
        f"http://{BOMB}/endless",
        "chunked HTML body that never ends (a line every 50 ms until the server stops)",
        "timeout within the limit, with the part that arrived",
    ),
    HostilePage(
        "huge-body",
        f"http://{BOMB}/huge",
        f"{HUGE_BODY_BYTES >> 20} MB declared and streamed as fast as the reader takes it",
        "cut by a byte limit or the clock; the worker's memory stays bounded",
    ),
    HostilePage(
        "gzip-bomb",
        f"http://{BOMB}/gzip",
        f"~1 MB gzip body that inflates to {GZIP_BOMB_BYTES >> 30} GiB of zero bytes",
        "definite outcome in time; the worker's memory stays bounded",
    ),
    HostilePage(
        "image-bomb",
        f"http://{BOMB}/image-bomb",
        f"page with a ~100 KB 1-bit PNG of {IMAGE_BOMB_SIDE}x{IMAGE_BOMB_SIDE} pixels",
        "definite outcome in time; the worker's memory stays bounded",
    ),
    HostilePage(
        "never-answers",
        f"http://{SLOW}/silent",
        "reads the request and never answers (held until the server stops)",
        "timeout within the limit",
    ),
    HostilePage(
        "drip",
        f"http://{SLOW}/drip",
        "sends the headers and a heading, then the rest of the body one byte per second",
        "timeout within the limit, with what had dripped in",
    ),
    HostilePage(
        "busy-loop",
        f"http://{SCRIPT}/busy",
        "an inline while(true){} that never yields the renderer",
        "ends in time with a definite outcome",
    ),
    HostilePage(
        "dialog-storm",
        f"http://{SCRIPT}/dialogs",
        "alert, confirm and prompt in an endless loop",
        "dialogs dismissed; ends in time with a definite outcome",
    ),
    HostilePage(
        "print-storm",
        f"http://{SCRIPT}/print",
        "window.print() 500 times at once, then every 50 ms",
        "ends in time with a definite outcome",
    ),
    HostilePage(
        "popup-storm",
        f"http://{SCRIPT}/popups",
        "window.open 30 times at once, then every 200 ms",
        "popups closed; one page result, for the page that was reported",
    ),
    HostilePage(
        "memory-bomb",
        f"http://{SCRIPT}/memory",
        "arrays of a million numbers pushed in a loop until the tab dies",
        "definite outcome in time (the renderer may crash); the worker survives",
    ),
    HostilePage(
        "download-attachment",
        f"http://{SCRIPT}/download/notice.txt",
        "answers with Content-Disposition: attachment",
        "the download is refused; no file is written",
    ),
    HostilePage(
        "download-click",
        f"http://{SCRIPT}/download-click",
        "page whose script clicks a download link",
        "the page is captured; the download is refused and no file is written",
    ),
    HostilePage(
        "permission-requests",
        f"http://{SCRIPT}/permissions",
        "asks for geolocation, notifications, camera and microphone",
        "nothing is granted; the page notes each refusal",
    ),
    HostilePage(
        "fetch-private",
        f"http://{PEEK}/fetch",
        f"script fetch() to {REFUSED_PRIVATE} and {REFUSED_METADATA}",
        "both refused by the egress point",
        refused_target=True,
    ),
    HostilePage(
        "img-private",
        f"http://{PEEK}/img",
        f"<img> sources on {REFUSED_PRIVATE} and {REFUSED_METADATA}",
        "both refused by the egress point; no image kept from them",
        refused_target=True,
    ),
    HostilePage(
        "nested-iframes",
        f"http://{ODD}/nest/0",
        f"{IFRAME_DEPTH} levels of iframes, each a page of this server",
        "ok; every level was requested and the top page captured",
    ),
    HostilePage(
        "lazy-images",
        f"http://{ODD}/lazy",
        "images with loading=lazy 30000 px below the fold",
        "ok; the capture scrolls, so the lazy images are kept",
    ),
    HostilePage(
        "charset-mismatch",
        f"http://{ODD}/charset-wrong",
        "declares windows-1251 but sends UTF-8 Kazakh and Russian text",
        "ok; the text is what the browser showed (mojibake), not an error",
    ),
    HostilePage(
        "charset-missing",
        f"http://{ODD}/charset-none",
        "UTF-8 Kazakh and Russian text with no charset anywhere",
        "ok with a definite text",
    ),
    HostilePage(
        "malformed-html",
        f"http://{ODD}/malformed",
        "unclosed tags, invalid UTF-8, NUL bytes, an unterminated comment",
        "ok; the visible sentence is in the text",
    ),
    HostilePage(
        "data-uri-images",
        f"http://{ODD}/data-images",
        "images given as data: URIs (PNG and SVG)",
        "ok; the images are in the HTML and the screenshot",
    ),
    HostilePage(
        "cloaking",
        f"http://{CLOAK}/",
        "benign text for crawlers (no 'Chrome' or 'HeadlessChrome' in the UA), an ad for people",
        "the capture sees the ad, as a person with Chrome would",
    ),
    HostilePage(
        "soft-404",
        f"http://{ODD}/soft-404",
        "answers 200 with a 'page not found' text",
        "ok with status 200 and the not-found text",
    ),
    HostilePage("status-404", f"http://{ODD}/gone-404", "answers 404", "ok with http_status 404"),
    HostilePage(
        "status-410", f"http://{ODD}/gone-410", "answers 410 Gone", "ok with http_status 410"
    ),
    HostilePage(
        "status-451",
        f"http://{ODD}/legal-451",
        "answers 451 Unavailable For Legal Reasons",
        "ok with http_status 451",
    ),
)


def page_named(name: str) -> HostilePage:
    return next(page for page in HOSTILE_PAGES if page.name == name)


# --- bodies -------------------------------------------------------------------------------------


def _html(title: str, body: str, head: str = "", charset: str | None = "utf-8") -> bytes:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f'<!doctype html><html lang="ru"><head>{meta}<title>{title}</title>{head}</head>'
        f"<body>{body}<footer>Synthetic hostile page of Kaznet Hotline Triage.</footer>"
        "</body></html>"
    ).encode()


def _script_page(title: str, text: str, script: str) -> bytes:
    return _html(title, f"<h1>{title}</h1><p>{text}</p><script>{script}</script>")


@lru_cache(maxsize=32)
def drawn_png(name: str, width: int = 160, height: int = 100) -> bytes:
    """A small gradient with a few shapes, different per name, the same bytes every time."""
    seed = zlib.crc32(name.encode())
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top = (seed & 0xFF, (seed >> 8) & 0xFF, (seed >> 16) & 0xFF)
    for y in range(height):
        mix = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(c * (1 - mix) + 255 * mix) for c in top))
    for i in range(3):
        x = (seed >> (i * 5)) % (width - 30)
        y = (seed >> (i * 7)) % (height - 30)
        colour = ((seed >> i) & 0xFF, 80 + 40 * i, 200 - 50 * i)
        box = [x, y, x + 28, y + 28]
        (draw.ellipse if i % 2 else draw.rectangle)(box, fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


_build_lock = threading.Lock()


@lru_cache(maxsize=1)
def _gzip_bomb_cached() -> bytes:
    def raw(data: bytes) -> bytes:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)

    prefix = "<!doctype html><title>Gzip bomb</title><h1>Бомба</h1>".encode()
    block_size = 16 << 20
    zeros = bytes(block_size)
    count = GZIP_BOMB_BYTES // block_size
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    size = len(prefix) + count * block_size
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + raw(prefix) + raw(zeros) * count + b"\x03\x00" + trailer


def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of zeros after a short HTML heading.

    Built once: one 16 MiB block of zeros is deflated after a full flush, so it stands alone and
    can simply be repeated; the trailer carries the CRC of the whole inflated stream.
    """
    with _build_lock:
        return _gzip_bomb_cached()


@lru_cache(maxsize=1)
def _image_bomb_cached() -> bytes:
    side = IMAGE_BOMB_SIDE
    row = bytes(1 + (side + 7) // 8)  # filter byte "none", then black 1-bit pixels
    rows_per_block = 1000
    packer = zlib.compressobj(9)
    data = [packer.compress(row * rows_per_block) for _ in range(side // rows_per_block)]
    data.append(packer.compress(row * (side % rows_per_block)))
    data.append(packer.flush())

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(data))
        + chunk(b"IEND", b"")
    )


def image_bomb() -> bytes:
    """A ~110 KB PNG of 30000x30000 pixels: 900 million to decode, 3.6 GB as RGBA."""
    with _build_lock:
        return _image_bomb_cached()


def _data_uri_images() -> str:
    png = base64.b64encode(drawn_png("data-uri", 120, 80)).decode()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
        '<rect width="120" height="80" fill="#2a6"/><circle cx="60" cy="40" r="30" fill="#fc3"/>'
        "</svg>"
    )
    svg64 = base64.b64encode(svg.encode()).decode()
    return (
        f'<img alt="png" src="data:image/png;base64,{png}">'
        f'<img alt="svg" src="data:image/svg+xml;base64,{svg64}">'
    )


MALFORMED_HTML = (
    b"<html><head><title>\xd0\x9a\xd1\x80\xd0\xb8\xd0\xb2\xd0\xbe\xd0\xb9 HTML</title><body>"
    b"<div><p>Visible sentence: broken markup must not break the capture."
    b"<table><tr><td>cell without end<b><i>bold italic<ul><li>one<li>two"
    b"\x00\x00\xff\xfe\x80\x81 garbage \xc3\x28 \xe2\x82 <<<>>> </span></div></div></html>"
    b"<p>after the garbage\x00still text</p></td></tr></table></b>"
    b"<!-- an unterminated comment swallows the rest <p>hidden</p>"
)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _redirect(location: str, status: int = 302) -> _Answer:
    return _Answer(status, b"", "text/html", (("Location", location),))


def _loop_page(other: str, head: str = "", script: str = "") -> _Answer:
    body = f"<h1>Loop page</h1><p>Next: {other}</p><script>{script}</script>"
    return _Answer(200, _html("Loop", body, head))


@lru_cache(maxsize=1)
def _static() -> dict[tuple[str, str], _Answer]:
    """Answers that are plain bytes: built once, on the first request."""
    page = _html
    lazy = "".join(
        f'<img loading="lazy" src="/img/lazy-{n}.png" width="160" height="100" alt="lazy {n}">'
        for n in range(3)
    )
    permissions = (
        "const out = document.getElementById('out');"
        "const note = (what, how) => { const li = document.createElement('li');"
        " li.textContent = what + ': ' + how; out.appendChild(li); };"
        "try { navigator.geolocation.getCurrentPosition(() => note('geolocation', 'granted'),"
        " e => note('geolocation', 'refused ' + e.code)); } catch (e) { note('geolocation', e); }"
        "if (window.Notification) { Notification.requestPermission()"
        ".then(r => note('notifications', r === 'granted' ? 'granted' : 'refused ' + r)); }"
        " else { note('notifications', 'absent'); }"
        "if (navigator.mediaDevices) { navigator.mediaDevices.getUserMedia({video: true,"
        " audio: true}).then(() => note('camera', 'granted'),"
        " e => note('camera', 'refused ' + e.name)); } else { note('camera', 'absent'); }"
    )
    return {
        (TRAP, "/loop/a"): _redirect("/loop/b"),
        (TRAP, "/loop/b"): _redirect("/loop/a"),
        (TRAP, "/meta/a"): _loop_page(
            "/meta/b", '<meta http-equiv="refresh" content="0;url=/meta/b">'
        ),
        (TRAP, "/meta/b"): _loop_page(
            "/meta/a", '<meta http-equiv="refresh" content="0;url=/meta/a">'
        ),
        (TRAP, "/js/a"): _loop_page("/js/b", script="location.href = '/js/b';"),
        (TRAP, "/js/b"): _loop_page("/js/a", script="location.href = '/js/a';"),
        (TRAP, "/to-private"): _redirect(REFUSED_PRIVATE),
        (TRAP, "/to-metadata"): _redirect(REFUSED_METADATA),
        (TRAP, "/to-file"): _redirect("file:///etc/passwd"),
        (BOMB, "/image-bomb"): _Answer(
            200,
            page(
                "Image bomb",
                '<h1>Image bomb</h1><img src="/img/bomb.png" width="320" height="320" alt="bomb">',
            ),
        ),
        (SCRIPT, "/busy"): _Answer(
            200, _script_page("Busy loop", "This page never yields.", "while (true) {}")
        ),
        (SCRIPT, "/dialogs"): _Answer(
            200,
            _script_page(
                "Dialog storm",
                "Dialogs without end.",
                "for (let i = 0; ; i++) { alert('Notice ' + i); confirm('Agree ' + i);"
                " prompt('Code ' + i); }",
            ),
        ),
        (SCRIPT, "/print"): _Answer(
            200,
            _script_page(
                "Print storm",
                "Printing without end.",
                "for (let i = 0; i < 500; i++) { window.print(); }"
                " setInterval(() => window.print(), 50);",
            ),
        ),
        (SCRIPT, "/popups"): _Answer(
            200,
            _script_page(
                "Popup storm",
                "The reported page itself.",
                "for (let i = 0; i < 30; i++) { window.open('/popup/' + i); }"
                " let n = 30; setInterval(() => window.open('/popup/' + n++), 200);",
            ),
        ),
        (SCRIPT, "/memory"): _Answer(
            200,
            _script_page(
                "Memory bomb",
                "Arrays grow until the tab dies.",
                "const hoard = []; for (let i = 0; ; i++) { hoard.push(new Array(1e6).fill(i)); }",
            ),
        ),
        (SCRIPT, "/download/notice.txt"): _Answer(
            200,
            f"{DOWNLOAD_MARKER}\nAn invented notice that must never reach the disk.\n".encode(),
            "application/octet-stream",
            (("Content-Disposition", 'attachment; filename="notice.txt"'),),
        ),
        (SCRIPT, "/download-click"): _Answer(
            200,
            page(
                "Download click",
                '<h1>Download click</h1><a id="dl" href="/download/notice.txt" download>notice</a>'
                "<script>document.getElementById('dl').click();</script>",
            ),
        ),
        (SCRIPT, "/permissions"): _Answer(
            200,
            page(
                "Permission requests",
                f'<h1>Permission requests</h1><ul id="out"></ul><script>{permissions}</script>',
            ),
        ),
        (PEEK, "/fetch"): _Answer(
            200,
            _script_page(
                "Fetch private",
                "Reaches for private addresses.",
                f"fetch('{REFUSED_PRIVATE}').catch(() => {{}});"
                f" fetch('{REFUSED_METADATA}').catch(() => {{}});",
            ),
        ),
        (PEEK, "/img"): _Answer(
            200,
            page(
                "Image private",
                f'<h1>Image private</h1><img src="{REFUSED_PRIVATE}x.png" alt="private">'
                f'<img src="{REFUSED_METADATA}" alt="metadata">',
            ),
        ),
        (ODD, "/lazy"): _Answer(
            200,
            page(
                "Lazy images",
                '<h1>Lazy images</h1><div style="height: 30000px">far above the images</div>'
                + lazy,
            ),
        ),
        (ODD, "/charset-wrong"): _Answer(
            200,
            page("Charset", f"<h1>Charset</h1><p>{KAZAKH_TEXT}</p>", charset="windows-1251"),
            "text/html; charset=windows-1251",
        ),
        (ODD, "/charset-none"): _Answer(
            200, page("Charset", f"<h1>Charset</h1><p>{KAZAKH_TEXT}</p>", charset=None), "text/html"
        ),
        (ODD, "/malformed"): _Answer(200, MALFORMED_HTML),
        (ODD, "/data-images"): _Answer(
            200, page("Data images", f"<h1>Data images</h1>{_data_uri_images()}")
        ),
        (ODD, "/soft-404"): _Answer(
            200, page("Not found", "<h1>Страница не найдена</h1><p>Page not found.</p>")
        ),
        (ODD, "/gone-404"): _Answer(404, page("404", "<h1>404: not here</h1>")),
        (ODD, "/gone-410"): _Answer(410, page("410", "<h1>410: gone for good</h1>")),
        (ODD, "/legal-451"): _Answer(
            451, page("451", "<h1>451: unavailable for legal reasons</h1>")
        ),
    }


# --- server -------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _HostileServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else small writes (drips, chunks) stall on delayed ACKs
    timeout = 30  # a client that stops reading cannot pin a thread in a blocked send forever

    def log_message(self, format: str, *args: object) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower().rstrip(".")
        path = urlsplit(self.path).path
        self.server.hits.append((host, path))
        try:
            self._route(host, path)
        except OSError:  # the browser or the egress point hung up: the usual end of a bomb
            self.close_connection = True

    def _route(self, host: str, path: str) -> None:
        answer = _static().get((host, path))
        if answer is not None:
            self._send(answer)
            return
        behaviour = _BEHAVIOURS.get((host, path))
        if behaviour is not None:
            behaviour(self)
        elif path.startswith("/img/"):
            self._image(path[5:])
        elif host == TRAP and path.startswith("/chain/") and path[7:].isdigit():
            left = int(path[7:])
            if left > 0:
                self._send(_redirect(f"/chain/{left - 1}"))
            else:
                self._send(_Answer(200, _html("End of chain", "<h1>End of the chain</h1>")))
        elif host == ODD and path.startswith("/nest/") and path[6:].isdigit():
            self._nest(int(path[6:]))
        elif host == SCRIPT and path.startswith("/popup/"):
            self._send(_Answer(200, _html("Opened window", f"<h1>Opened window {path[7:20]}</h1>")))
        else:
            self._send(_Answer(404, b"<h1>Not in the hostile web</h1>"))

    def _head(self, status: int, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def _send(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def _image(self, name: str) -> None:
        if name == "bomb.png":
            self._send(_Answer(200, image_bomb(), "image/png"))
        elif name.endswith(".png") and name[:-4].replace("-", "").isalnum():
            self._send(_Answer(200, drawn_png(name), "image/png"))
        else:
            self._send(_Answer(404, b"", "text/plain"))

    def _nest(self, level: int) -> None:
        inner = (
            f'<iframe src="/nest/{level + 1}" width="90%" height="300"></iframe>'
            if level < IFRAME_DEPTH
            else "<p>The innermost frame.</p>"
        )
        self._send(_Answer(200, _html(f"Level {level}", f"<h2>Frame level {level}</h2>{inner}")))

    def endless(self) -> None:
        """A chunked body with a new line every 50 ms until the server stops or the hold ends."""
        self.close_connection = True
        self._head(200, "text/html; charset=utf-8", Transfer_Encoding="chunked")
        self._chunk(b"<!doctype html><title>Endless</title><h1>Endless feed</h1>")
        ends = time.monotonic() + self.server.hold_s
        line = 0
        while not self.server.stopping.wait(0.05) and time.monotonic() < ends:
            self._chunk(f"<p>Line {line} of a feed that never ends.</p>\n".encode())
            line += 1
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def huge(self) -> None:
        """300 MB declared, in closed 1 MiB comments: cheap to render, but all of it in the DOM."""
        self.close_connection = True
        start = b"<!doctype html><title>Huge body</title><h1>Huge body</h1>"
        self._send_head_only(200, "text/html; charset=utf-8", HUGE_BODY_BYTES)
        self.wfile.write(start)
        left = HUGE_BODY_BYTES - len(start)
        block = b"<!--" + b"x" * ((1 << 20) - 7) + b"-->"
        while left > 0 and not self.server.stopping.is_set():
            piece = block if left >= len(block) else b" " * left
            self.wfile.write(piece)
            left -= len(piece)

    def gzip(self) -> None:
        self.close_connection = True
        body = gzip_bomb()
        self._send_head_only(200, "text/html; charset=utf-8", len(body), Content_Encoding="gzip")
        for offset in range(0, len(body), 64 * 1024):
            if self.server.stopping.is_set():
                return
            self.wfile.write(body[offset : offset + 64 * 1024])

    def silent(self) -> None:
        """Take the request, say nothing, until the server stops or the hold ends."""
        self.close_connection = True
        self.server.stopping.wait(self.server.hold_s)

    def drip(self) -> None:
        """The heading at once, then the rest of a declared-length body one byte per second."""
        self.close_connection = True
        body = _html("Drip", "<h1>Drip</h1><p>" + "one byte per second " * 20 + "</p>")
        self._send_head_only(200, "text/html; charset=utf-8", len(body))
        start = body.index(b"<p>") + 3  # the heading at once, so there is something to keep
        self.wfile.write(body[:start])
        ends = time.monotonic() + self.server.hold_s
        for offset in range(start, len(body)):
            self.wfile.write(body[offset : offset + 1])
            if self.server.stopping.wait(1.0) or time.monotonic() > ends:
                return

    def cloak(self) -> None:
        """Crawlers (no 'Chrome', or 'HeadlessChrome') get a recipe; people with Chrome an ad."""
        agent = self.headers.get("User-Agent") or ""
        crawler = "Chrome" not in agent or "HeadlessChrome" in agent
        text = CLOAK_BENIGN if crawler else CLOAK_AD
        answer = _Answer(
            200, _html("Cloak", f"<h1>Cloak</h1><p>{text}</p>"), headers=(("Vary", "User-Agent"),)
        )
        self._send(answer)

    def _send_head_only(self, status: int, content_type: str, length: int, **headers: str) -> None:
        self._head(status, content_type, Content_Length=str(length), **headers)


_BEHAVIOURS: dict[tuple[str, str], Callable[[_Handler], None]] = {
    (BOMB, "/endless"): _Handler.endless,
    (BOMB, "/huge"): _Handler.huge,
    (BOMB, "/gzip"): _Handler.gzip,
    (SLOW, "/silent"): _Handler.silent,
    (SLOW, "/drip"): _Handler.drip,
    (CLOAK, "/"): _Handler.cloak,
}


class _HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], hold_s: float) -> None:
        super().__init__(address, _Handler)
        self.hold_s = hold_s
        self.hits: list[tuple[str, str]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Unblock every handler stuck in a send or a read, so stop() does not wait on them."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        return  # hung-up clients are the normal end of these pages, not errors worth a traceback


class HostileWeb:
    """Start with `with HostileWeb() as web:`; `web.host_map` goes to the capture settings.

    `hold_s` bounds how long a held or dripping connection lasts; `stop()` ends them all at once.
    """

    def __init__(self, port: int = 0, bind: str = "127.0.0.1", hold_s: float = MAX_HOLD_S) -> None:
        self._server = _HostileServer((bind, port), hold_s)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def hits(self) -> list[tuple[str, str]]:
        return self._server.hits

    @property
    def host_map(self) -> dict[str, str]:
        return {host: f"127.0.0.1:{self.port}" for host in HOSTS}

    def start(self) -> HostileWeb:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.close_connections()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()  # any that arrived while the loop was stopping

    def __enter__(self) -> HostileWeb:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
