"""Finding a Chromium to drive: configured path, Playwright's own download, or the system's."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

SYSTEM_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "/usr/lib/chromium-browser/chromium-browser",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/snap/bin/chromium",
)
INSTALL_HINT = (
    "install one with 'sudo apt-get install chromium' (Debian/Ubuntu) or "
    "'python -m playwright install chromium', or set HOTLINE_CHROMIUM_PATH"
)


class BrowserNotFound(RuntimeError):
    """No Chromium binary could be found on this machine."""


def playwright_chromium() -> str | None:
    """The newest Chromium that `playwright install chromium` left in its cache, if any."""
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache/ms-playwright")
    found = sorted(glob.glob(f"{root}/chromium-*/chrome-linux*/chrome"))
    return found[-1] if found else None


def find_chromium(configured: str | None = None) -> str:
    """The path of a runnable Chromium, preferring what the operator configured."""
    if configured:
        if os.access(configured, os.X_OK):
            return configured
        raise BrowserNotFound(f"HOTLINE_CHROMIUM_PATH={configured} is not an executable file")
    candidates = [playwright_chromium(), *SYSTEM_CANDIDATES, shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BrowserNotFound(f"no Chromium found: {INSTALL_HINT}")
