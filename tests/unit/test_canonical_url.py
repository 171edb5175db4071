"""Canonical URLs: what is accepted and how it is written, what is refused and why."""

from __future__ import annotations

import pytest

from triage_api.canonical_url import MAX_URL_LENGTH, CanonicalUrl, InvalidUrl, canonicalize

IDN_URL = "http://xn--e1afmkfd.xn--80ao21a/"

ACCEPTED = [
    # scheme and host are case-insensitive; the path is not
    ("HTTP://Example.KZ/Path", "http://example.kz/Path"),
    ("HTTPS://EXAMPLE.KZ/A/B?C=D", "https://example.kz/A/B?C=D"),
    # default ports dropped, other ports kept
    ("http://example.kz:80/", "http://example.kz/"),
    ("https://example.kz:443/", "https://example.kz/"),
    ("https://example.kz:80/", "https://example.kz:80/"),
    ("http://example.kz:8080/x", "http://example.kz:8080/x"),
    ("http://example.kz/", "http://example.kz/"),
    ("http://example.kz", "http://example.kz/"),
    # fragment dropped, empty query dropped
    ("http://example.kz/a#frag", "http://example.kz/a"),
    ("http://example.kz/?#", "http://example.kz/"),
    # dot segments, also percent-encoded ones
    ("http://example.kz/a/./b/../c", "http://example.kz/a/c"),
    ("http://example.kz/a/%2e%2E/b", "http://example.kz/b"),
    ("http://example.kz/a/b/..", "http://example.kz/a/"),
    ("http://example.kz/../../x", "http://example.kz/x"),
    # IDN in Unicode and in punycode meet
    ("http://пример.қаз/", IDN_URL),
    ("http://ПРИМЕР.ҚАЗ/", IDN_URL),
    ("http://xn--e1afmkfd.xn--80ao21a/", IDN_URL),
    ("http://XN--E1AFMKFD.XN--80AO21A", IDN_URL),
    # the root dot names the same host
    ("http://example.kz./", "http://example.kz/"),
    ("http://пример.қаз./", IDN_URL),
    # missing or scheme-relative scheme means http
    ("example.kz/x", "http://example.kz/x"),
    ("//example.kz", "http://example.kz/"),
    ("example.kz:8080/x", "http://example.kz:8080/x"),
    ("  http://example.kz/  ", "http://example.kz/"),
    # backslashes are slashes, as in a browser
    ("http://good.kz\\@evil.com", "http://good.kz/@evil.com"),
    ("http:\\\\example.kz\\a\\b", "http://example.kz/a/b"),
    # percent escapes
    ("http://example.kz/%c3%a9", "http://example.kz/%C3%A9"),
    ("http://example.kz/%41%7e", "http://example.kz/A~"),
    ("http://example.kz/%zz", "http://example.kz/%25zz"),
    ("http://example.kz/a%2fb", "http://example.kz/a%2Fb"),
    ("http://example.kz/?q=%", "http://example.kz/?q=%25"),
    # spaces and non-ASCII are encoded as UTF-8
    ("http://example.kz/a b/é?q=a b&r=ü", "http://example.kz/a%20b/%C3%A9?q=a%20b&r=%C3%BC"),
    ("http://example.kz/путь?к=з", "http://example.kz/%D0%BF%D1%83%D1%82%D1%8C?%D0%BA=%D0%B7"),
    # public IP addresses
    ("http://8.8.8.8/", "http://8.8.8.8/"),
    ("http://134744072/", "http://8.8.8.8/"),
    ("http://0x08080808/", "http://8.8.8.8/"),
    ("http://[2606:4700::1111]:8080/x", "http://[2606:4700::1111]:8080/x"),
    ("http://[2606:4700:0:0:0:0:0:1111]:80/", "http://[2606:4700::1111]/"),
    # query order is meaningful and kept
    ("http://example.kz/?b=2&a=1&b=1", "http://example.kz/?b=2&a=1&b=1"),
]

REJECTED = [
    ("", "empty"),
    ("   \t ", "empty"),
    ("javascript:alert(1)", "scheme 'javascript:'"),
    ("data:text/html,<b>x</b>", "scheme 'data:'"),
    ("file:///etc/passwd", "scheme 'file:'"),
    ("ftp://example.kz/", "scheme 'ftp:'"),
    ("mailto:someone@example.kz", "scheme 'mailto:'"),
    ("about:blank", "scheme 'about:'"),
    ("http://u:p@x.kz/", "user name or password"),
    ("http://u@x.kz/", "user name or password"),
    # private, reserved and special-purpose addresses
    ("http://10.0.0.1/", "not a public IP"),
    ("http://172.16.0.1/", "not a public IP"),
    ("http://192.168.1.1/", "not a public IP"),
    ("http://127.0.0.1/", "not a public IP"),
    ("http://169.254.169.254/latest/meta-data/", "not a public IP"),
    ("http://100.64.0.1/", "not a public IP"),
    ("http://0.0.0.0/", "not a public IP"),
    ("http://224.0.0.1/", "not a public IP"),
    ("http://255.255.255.255/", "not a public IP"),
    ("http://[::1]/", "not a public IP"),
    ("http://[fe80::1]/", "not a public IP"),
    ("http://[fc00::1]/", "not a public IP"),
    ("http://[::ffff:127.0.0.1]/", "not a public IP"),
    ("http://[2001:db8::1]/", "not a public IP"),
    # WHATWG numeric shorthands for loopback
    ("http://2130706433/", "127.0.0.1 is not a public IP"),
    ("http://0x7f.1/", "127.0.0.1 is not a public IP"),
    ("http://0177.0.0.1/", "127.0.0.1 is not a public IP"),
    ("http://127.1/", "127.0.0.1 is not a public IP"),
    ("http://0xa.1/", "10.0.0.1 is not a public IP"),
    # names that are not public sites
    ("http://localhost/", "needs a dot"),
    ("localhost", "needs a dot"),
    ("http://intranet/", "needs a dot"),
    ("http://printer.local/", "reserved name"),
    ("http://db.internal/", "reserved name"),
    ("http://site.test/", "reserved name"),
    ("http://abcdefghijklmnop.onion/", "reserved name"),
    ("http://app.localhost/", "reserved name"),
    ("http://PRINTER.LOCAL./", "reserved name"),
    # size and characters
    ("http://example.kz/" + "a" * (MAX_URL_LENGTH - len("http://example.kz/") + 1), "longer than"),
    ("http://exa\x00mple.kz/", "control character (U+0000)"),
    ("http://example.kz/a\nb", "control character (U+000A)"),
    ("http://example.kz/\x7f", "control character (U+007F)"),
    ("http://example.kz/a\tb", "control character (U+0009)"),
    # ports
    ("http://example.kz:99999/", "out of range"),
    ("http://example.kz:0/", "out of range"),
    ("http://example.kz:abc/", "'abc' is not a number"),
    # labels
    ("http://-bad-.kz/", "not a valid domain name"),
    ("http://" + "a" * 64 + ".kz/", "not a valid domain name"),
    ("http://a..kz/", "not a valid domain name"),
    ("http://example.123/", "not a valid IPv4 address"),
    ("http://1.2.3.4.5/", "not a valid IPv4 address"),
    ("http://%65xample.kz/", "percent-encoding"),
    # IPv6 syntax
    ("http://[2606:4700::1111/", "closing ']'"),
    ("http://[2606:4700::1111", "closing ']'"),
    ("http://[fe80::1%25eth0]/", "zone identifiers"),
    ("http://[2606:4700::1111]x/", "after the IPv6 address"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted_url_is_canonicalized(raw: str, expected: str) -> None:
    assert canonicalize(raw).url == expected


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_canonical_form_is_a_fixed_point(raw: str, expected: str) -> None:
    first = canonicalize(raw)
    assert canonicalize(first.url) == first


@pytest.mark.parametrize(("raw", "fragment"), REJECTED)
def test_rejected_url_names_the_problem(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidUrl) as excinfo:
        canonicalize(raw)
    assert fragment in str(excinfo.value)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("http://[1.2.3.4]/", "IPv4"),
        ("http://[zz]/", "IPv6"),
        ("http://ex\ufe6bample.kz/", "invalid characters"),  # small commercial at, NFKC '@'
    ],
)
def test_malformed_authority_is_invalid_url_not_bare_value_error(raw: str, fragment: str) -> None:
    """Callers catch `InvalidUrl` only; any other exception would be a server error."""
    with pytest.raises(InvalidUrl) as excinfo:
        canonicalize(raw)
    assert fragment in str(excinfo.value)


def test_backslash_in_query_is_not_a_slash() -> None:
    """WHATWG turns backslashes into slashes before the query only; 'a\\b' and 'a/b' differ."""
    result = canonicalize("http://example.kz/search?q=a\\b")
    assert result.url == "http://example.kz/search?q=a%5Cb"
    assert result.url != canonicalize("http://example.kz/search?q=a/b").url


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidUrl, match="must be a string"):
        canonicalize(b"http://example.kz/")  # type: ignore[arg-type]


def test_url_of_exactly_max_length_is_accepted() -> None:
    prefix = "http://example.kz/"
    raw = prefix + "a" * (MAX_URL_LENGTH - len(prefix))
    assert canonicalize(raw).url == raw


def test_url_that_grows_past_the_limit_when_encoded_is_refused() -> None:
    raw = "http://example.kz/" + "é" * 2000  # 2018 characters, 12018 once percent-encoded
    with pytest.raises(InvalidUrl, match="once encoded"):
        canonicalize(raw)


@pytest.mark.parametrize(
    "raw",
    ["http://пример.қаз/", "http://xn--e1afmkfd.xn--80ao21a/", "пример.қаз", "HTTP://ПРИМЕР.ҚАЗ./"],
)
def test_idn_spellings_meet_in_one_case(raw: str) -> None:
    result = canonicalize(raw)
    assert result == CanonicalUrl(
        url=IDN_URL,
        scheme="http",
        host="xn--e1afmkfd.xn--80ao21a",
        host_unicode="пример.қаз",
        port=None,
    )
    assert not result.is_ip


@pytest.mark.parametrize(
    ("raw", "host", "port", "is_ip"),
    [
        ("https://example.kz:8443/", "example.kz", 8443, False),
        ("https://example.kz:443/", "example.kz", None, False),
        ("http://example.kz:443/", "example.kz", 443, False),
        ("http://8.8.8.8:8080/", "8.8.8.8", 8080, True),
        ("http://[2606:4700::1111]:8080/", "[2606:4700::1111]", 8080, True),
    ],
)
def test_host_and_port_fields(raw: str, host: str, port: int | None, is_ip: bool) -> None:
    result = canonicalize(raw)
    assert (result.host, result.port, result.is_ip) == (host, port, is_ip)


def test_backslash_userinfo_trick_judges_the_host_a_browser_contacts() -> None:
    result = canonicalize("http://good.kz\\@evil.com/")
    assert result.host == "good.kz"
    assert "evil.com" not in result.host


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("http://[::127.0.0.1]/", "embeds 127.0.0.1"),
        ("http://[64:ff9b::a00:1]/", "embeds 10.0.0.1"),
        ("http://[2002:c0a8:101::]/", "embeds 192.168.1.1"),
        ("http://１２７.０.０.１/", "127.0.0.1 is not a public IP"),
    ],
)
def test_ipv4_hidden_in_other_forms_is_refused(raw: str, needle: str) -> None:
    with pytest.raises(InvalidUrl, match=needle):
        canonicalize(raw)


def test_underscore_labels_are_accepted_as_browsers_do() -> None:
    assert canonicalize("http://Sub_Domain.example.kz/").url == "http://sub_domain.example.kz/"
