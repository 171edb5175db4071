"""A sweep's scope: Kaznet by domain or by server country, everything else left alone."""

from __future__ import annotations

from crawler.sweep.scope import Scope


def test_kz_and_kaz_domains_are_in_scope() -> None:
    scope = Scope()
    assert scope.allows("http://dari-kz-shop.kz/catalog/item-7")
    assert scope.allows("https://forum.almaty-chat.kz/t/1")
    assert scope.allows("http://xn--80aaa3b1a.xn--80ao21a/")  # a .қаз name in punycode
    assert scope.allows("http://дүкен.қаз/")


def test_foreign_and_unusable_addresses_are_out() -> None:
    scope = Scope()
    for url in (
        "http://mirror-shop.top/item-7",
        "https://news.example.com/",
        "ftp://files.kz/x",
        "mailto:someone@shop.kz",
        "http:///nohost",
        "javascript:alert(1)",
    ):
        allowed, reason = scope.why(url)
        assert not allowed, url
        assert reason


def test_a_foreign_name_on_a_kazakhstani_server_is_in_scope() -> None:
    addresses = {"kazhost-shop.com": "2.135.0.1", "elsewhere.com": "8.8.8.8"}
    asked: list[str] = []

    def resolve(host: str) -> str | None:
        asked.append(host)
        return addresses.get(host)

    scope = Scope(resolve=resolve)
    allowed, reason = scope.why("http://kazhost-shop.com/p")
    assert allowed and "Kazakhstan" in reason
    assert not scope.allows("http://elsewhere.com/")
    assert not scope.allows("http://unresolved.example/")
    assert scope.allows("http://kazhost-shop.com/other")  # cached: asked once per host
    assert asked.count("kazhost-shop.com") == 1
    assert scope.allows("http://shop.kz/") and "shop.kz" not in asked  # .kz needs no look-up


def test_an_operator_may_widen_the_scope() -> None:
    assert Scope(extra_hosts=frozenset({"partner.example.org"})).allows(
        "http://partner.example.org/"
    )
    assert Scope(kaznet_only=False).allows("http://anything.example.com/")
