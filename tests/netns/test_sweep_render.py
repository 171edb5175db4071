"""A sweep page rendered in the browser aims it, by script, at the cloud metadata address, a
private network, loopback and a name on no map: the sweep's egress point refuses each one and
the canary sees nothing. The egress point asks DNS for names off the host map here, so this runs
only inside a loopback-only network namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.script_pages import SHOP_HOST, SHOP_TEXT, Canary, ScriptShop, sweep

pytestmark = pytest.mark.integration


def test_a_rendered_page_reaches_no_private_address(tmp_path: Path) -> None:
    canary = Canary()
    targets = [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/pixel.png",
        f"http://127.0.0.1:{canary.port}/api",
        "http://unmapped-shop.kz/api",
    ]
    try:
        with ScriptShop(targets) as shop:
            rows, stats = sweep(
                shop.host_map,
                tmp_path / "private.jsonl",
                f"http://{SHOP_HOST}/",
                extra=("--render", "when-needed"),
                map_only=False,
            )
    finally:
        canary.close()
    shell = next(row for row in rows if row["kind"] == "page")
    assert shell["rendered"] is True and SHOP_TEXT in shell["text"]
    assert canary.connections == 0
    turned_away = set(stats["hotline/egress_turned_away"])
    assert {"169.254.169.254", "10.0.0.1", "127.0.0.1", "unmapped-shop.kz"} <= turned_away
    assert stats["hotline/egress_refused"] >= 3  # the three addresses, by the policy itself
