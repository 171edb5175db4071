"""Find a Chromium for the captures, or install one: Debian's package, else Playwright's build.

Run as `python -m crawler.install_browser`; exits 0 with the path, 1 with what to do by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from crawler.browser import INSTALL_HINT, BrowserNotFound, find_chromium


def _apt_install() -> bool:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    install = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=False)
    return update.returncode == 0 and install.returncode == 0


def _playwright_install() -> bool:
    command = [sys.executable, "-m", "playwright", "install", "chromium"]
    return subprocess.run(command, check=False).returncode == 0


def main() -> int:
    for attempt in (None, _apt_install, _playwright_install):
        if attempt is not None:
            print(f"no Chromium found; trying {attempt.__name__.strip('_').replace('_', ' ')}…")
            attempt()
        try:
            print(f"Chromium: {find_chromium(os.environ.get('HOTLINE_CHROMIUM_PATH'))}")
            return 0
        except BrowserNotFound:
            continue
    print(f"error: no Chromium could be found or installed; {INSTALL_HINT}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
