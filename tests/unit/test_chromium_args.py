"""The captures' Chromium switches keep Playwright's own: Chromium reads only the last
`--disable-features` (and `--enable-features`), and ours come after Playwright's."""

from __future__ import annotations

import re
from pathlib import Path

import playwright

from crawler.capture import CHROMIUM_ARGS, PLAYWRIGHT_DISABLED_FEATURES


def _values(switch: str) -> list[str]:
    return [arg.split("=", 1)[1] for arg in CHROMIUM_ARGS if arg.startswith(f"{switch}=")]


def _playwright_disabled_features() -> set[str]:
    """The list in the installed Playwright driver (`chromiumSwitches.ts`, bundled as JS)."""
    lib = Path(playwright.__file__).parent / "driver" / "package" / "lib"
    for script in sorted(lib.rglob("*.js")):
        text = script.read_text(encoding="utf-8", errors="replace")
        if "chromiumSwitches" not in text:
            continue
        found = re.search(r"disabledFeatures\s*=\s*\[(.*?)\]", text, re.DOTALL)
        if found:
            body = re.sub(r"//[^\n]*", "", found.group(1))
            return set(re.findall(r"\"([A-Za-z0-9]+)\"", body))
    raise AssertionError(f"no disabledFeatures list under {lib}: has Playwright moved it?")


def test_one_disable_features_switch_and_no_enable_features() -> None:
    assert len(_values("--disable-features")) == 1
    assert _values("--enable-features") == []  # Playwright's own must stand


def test_playwright_defaults_survive_our_disable_features() -> None:
    ours = set(_values("--disable-features")[0].split(","))
    assert {"NetworkTimeServiceQuerying", "OptimizationHints", "Translate"} <= ours
    assert set(PLAYWRIGHT_DISABLED_FEATURES) <= ours
    missing = _playwright_disabled_features() - ours
    assert not missing, f"Playwright now disables {sorted(missing)}: add them to capture.py"
