"""check_url: only https URLs on an allowed domain pass, in a normalised form."""

from __future__ import annotations

import pytest

from advocacy.campaigns.urls import check_url, normalise_domain

ALLOWED = ["shop.example", "*.cdn.example", "pay.example:8443", "bücher.example"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example", "https://shop.example/"),
        ("https://shop.example/", "https://shop.example/"),
        ("https://shop.example/spring?utm=ref#top", "https://shop.example/spring?utm=ref#top"),
        ("HTTPS://SHOP.EXAMPLE/Path", "https://shop.example/Path"),
        ("https://shop.example:443/x", "https://shop.example/x"),
        ("https://shop.example/ä?q=ü#ö", "https://shop.example/%C3%A4?q=%C3%BC#%C3%B6"),
        ("https://shop.example/a%20b", "https://shop.example/a%20b"),
        ("https://shop.example/@evil.example", "https://shop.example/@evil.example"),
        ("https://shop.example?next=https://evil.example", None),
        ("https://shop.example#@evil.example", "https://shop.example/#@evil.example"),
        ("https://img.cdn.example/a.png", "https://img.cdn.example/a.png"),
        ("https://a.b.cdn.example/", "https://a.b.cdn.example/"),
        ("https://pay.example:8443/checkout", "https://pay.example:8443/checkout"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
        # UTS 46 maps full-width letters and ideographic dots to the same ASCII host.
        ("https://ｓｈｏｐ.example/", "https://shop.example/"),
        ("https://shop\u3002example/", "https://shop.example/"),
    ],
)
def test_accepted_urls_are_normalised(url, expected):
    normalised = check_url(url, ALLOWED)

    if expected is not None:
        assert normalised == expected
    assert normalised.startswith("https://")


@pytest.mark.parametrize(
    "url",
    [
        # not https, or not absolute
        "//evil.example",
        "//shop.example",
        "/relative/path",
        "shop.example",
        "http://shop.example/",
        "ftp://shop.example/",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "javascript://shop.example/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "https:shop.example",
        "https:/shop.example",
        "https:///shop.example",
        "https:////evil.example",
        "",
        # user info
        "https://shop.example@evil.example",
        "https://user:pass@shop.example/",
        "https://shop.example:443@evil.example/",
        "https://evil.example;@shop.example/",
        "https://shop.example%40evil.example/",
        "https://shop.example%2f@evil.example",
        # backslashes, whitespace, control and invisible characters
        "https://shop.example\\@evil.example",
        "https:\\\\evil.example",
        "https://evil.example\\.shop.example",
        " https://shop.example/",
        "https://shop.example/ ",
        "https://shop.example/a b",
        "https://shop.ex\tample/",
        "https://shop.example\n.evil.example/",
        "https://shop.example/\r\nSet-Cookie: x=1",
        "https://shop.example/\x00",
        "https://shop.example/\x7f",
        "https://shop\u200b.example/",
        "https://shop.example/\u202e",
        "https://shop.example/\u3000",
        "https://shop.example/\u00a0",
        # other hosts that look similar
        "https://evil.example/",
        "https://shop.example.evil.example/",
        "https://shopexample/",
        "https://shop-example/",
        "https://shop.example-evil.example/",
        "https://evilshop.example/",
        "https://www.shop.example/",
        "https://cdn.example/",
        "https://xcdn.example/",
        "https://cdn.example.evil.example/",
        "https://shоp.example/",  # Cyrillic o
        "https://ѕhop.example/",  # Cyrillic dze
        "https://shop.exampIe/",  # capital i
        "https://xn--shp-ted.example/",
        "https://bucher.example/",
        "https://evil.example#.shop.example",
        "https://evil.example?.shop.example",
        "https://evil.example/.shop.example",
        # hosts that are not domain names
        "https://shop.example./",
        "https://shop..example/",
        "https://.shop.example/",
        "https://-shop.example/",
        "https://sh_op.example/",
        "https://shop%2eexample/",
        "https://127.0.0.1/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://[::1]/",
        "https://[2001:db8::1]:443/",
        "https://xn--/",
        "https://xn--zz-zzz.example/",
        # ports
        "https://shop.example:8443/",
        "https://shop.example:80/",
        "https://shop.example:0/",
        "https://shop.example:65536/",
        "https://shop.example:/",
        "https://shop.example:+443/",
        "https://shop.example:443:443/",
        "https://shop.example: 443/",
        "https://pay.example/",
        "https://pay.example:9443/",
        # too long
        "https://shop.example/" + "a" * 2048,
    ],
)
def test_attack_and_foreign_urls_are_refused(url):
    with pytest.raises(ValueError):
        check_url(url, ALLOWED)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://shop.example/", "https"),
        ("https://shop.example@evil.example", "user info"),
        ("https://evil.example/", "evil.example"),
        ("https://shop.example:8443/", "8443"),
        ("https://shop.example\\x", "backslash"),
        ("https://127.0.0.1/", "IP address"),
        ("https://shоp.example/", "xn--"),
    ],
)
def test_refusals_say_why(url, words):
    with pytest.raises(ValueError, match=words):
        check_url(url, ALLOWED)


def test_normalisation_is_idempotent():
    for url in [
        "https://SHOP.example:443/ä?x=ü#y",
        "https://bücher.example/",
        "https://shop.example",
    ]:
        once = check_url(url, ALLOWED)
        assert check_url(once, ALLOWED) == once


def test_empty_allow_list_refuses_everything_with_a_hint():
    with pytest.raises(ValueError, match="allowed-domains"):
        check_url("https://shop.example/", [])


def test_wildcard_entry_does_not_allow_the_bare_domain():
    with pytest.raises(ValueError):
        check_url("https://cdn.example/", ["*.cdn.example"])
    assert check_url("https://cdn.example/", ["*.cdn.example", "cdn.example"])


def test_port_entry_allows_only_that_port():
    assert check_url("https://pay.example:8443/", ["pay.example:8443"])
    with pytest.raises(ValueError):
        check_url("https://pay.example/", ["pay.example:8443"])


def test_unnormalised_entries_are_compared_in_ascii_form():
    allowed = ["SHOP.Example", "Bücher.Example", "*.CDN.example", "shop2.example:443"]

    assert check_url("https://shop.example/", allowed) == "https://shop.example/"
    assert check_url("https://xn--bcher-kva.example/", allowed)
    assert check_url("https://x.cdn.example/", allowed)
    assert check_url("https://shop2.example/", allowed)


def test_invalid_entries_match_nothing():
    with pytest.raises(ValueError):
        check_url("https://evil.example/", ["https://evil.example/", "*", "evil example"])


def test_allow_list_may_be_any_iterable():
    assert check_url("https://shop.example/", iter(["shop.example"])) == "https://shop.example/"
    assert check_url("https://shop.example/", ("shop.example",)) == "https://shop.example/"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("shop.example", "shop.example"),
        ("SHOP.EXAMPLE", "shop.example"),
        ("*.cdn.example", "*.cdn.example"),
        ("shop.example:443", "shop.example"),
        ("shop.example:8443", "shop.example:8443"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("*.Bücher.example", "*.xn--bcher-kva.example"),
        ("ｓｈｏｐ.example", "shop.example"),
    ],
)
def test_domain_entries_are_normalised(entry, expected):
    assert normalise_domain(entry) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "",
        "shop",
        "*.example",
        "*",
        "*.*.example",
        "sh*p.example",
        "shop.*.example",
        "https://shop.example",
        "shop.example/path",
        "user@shop.example",
        "shop.example?x",
        "shop.example#x",
        "shop.example\\",
        " shop.example",
        "shop .example",
        "shop.example.",
        "127.0.0.1",
        "[::1]",
        "shop.example:0",
        "shop.example:99999",
        "shop.example:https",
        "-shop.example",
        "shop_1.example",
        "a" * 64 + ".example",
    ],
)
def test_bad_domain_entries_are_refused(entry):
    with pytest.raises(ValueError):
        normalise_domain(entry)
