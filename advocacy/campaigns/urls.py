"""Where a campaign may send people: https URLs on the workspace's allowed domains.

Pure and cached, because the click path re-checks the stored URL on every redirect
(the allow-list may have shrunk since the campaign was saved).

Matching rules (``check_url``):

* The URL must start with ``https://`` (any case) and have a host. Relative and
  scheme-relative URLs (``//evil.example``), other schemes (``http:``, ``javascript:``,
  ``data:``), backslashes, whitespace, control and invisible (format) characters anywhere,
  user info (``user@host``), percent-encoded hosts and IP-address hosts are refused.
* The host is normalised to its ASCII form (IDNA 2008 with UTS #46 mapping:
  lowercase, full-width letters and ideographic dots mapped, non-ASCII labels to
  punycode ``xn--``) and compared with the allowed entries, also in ASCII form. So a
  look-alike with a Cyrillic "о" becomes ``xn--shp-...`` and matches nothing.
* An entry ``shop.example`` allows exactly that host; ``www.shop.example``,
  ``shop.example.evil.example``, ``shopexample`` and ``shop-example`` do not match it.
  An entry ``*.shop.example`` allows every subdomain of ``shop.example`` (at any
  depth) but not ``shop.example`` itself: list both when both are wanted.
* The port must be 443 (or absent) unless an entry names the host with that port
  (``shop.example:8443``); such an entry allows only that port.
* Entries must be domain names with at least two labels (so ``*.com`` is refused);
  there is no public-suffix list, so ``*.co.uk`` is the administrator's call.

The returned URL is normalised (lowercase scheme and host, ASCII host, no default port,
non-ASCII in path/query/fragment percent-encoded): redirect to it, never to the input,
so what was checked is exactly where people go. ``check_url`` is idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, urlsplit

import idna

MAX_URL_LENGTH = 2048  # campaigns.landing_url is VARCHAR(2048)
MAX_HOST_LENGTH = 253
DEFAULT_PORT = 443

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
# In ASCII URLs: controls, space, DEL and backslash.
_ASCII_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
# Unicode categories that hide or fake characters: controls, format (zero-width,
# bidi overrides), separators, private use, surrogates, unassigned.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?[]"
_FRAGMENT_SAFE = _QUERY_SAFE + "#"


def _has_forbidden_characters(text: str) -> bool:
    if text.isascii():
        return _ASCII_FORBIDDEN.search(text) is not None
    return any(
        c == "\\" or c.isspace() or unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in text
    )


@lru_cache(maxsize=4096)
def ascii_host(host: str) -> str:
    """The lowercase ASCII (punycode) form of a host name; ValueError if it is not one."""
    if not host:
        raise ValueError("The URL has no host.")
    if "%" in host:
        raise ValueError("The host must not be percent-encoded.")
    if host.isascii():
        candidate = host.lower()
    else:
        try:
            candidate = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(
                f"The host is not a valid internationalised domain name: {exc}"
            ) from exc
    if candidate.endswith("."):
        raise ValueError("The host must not end with a dot.")
    if len(candidate) > MAX_HOST_LENGTH:
        raise ValueError("The host name is too long.")
    labels = candidate.split(".")
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"The host {candidate!r} is not a valid domain name.")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise ValueError("Use a domain name, not an IP address.")
    for label in labels:
        if label.startswith("xn--"):
            _check_a_label(label)
    return candidate


def _check_a_label(label: str) -> None:
    """A punycode label must decode to a valid name and encode back to itself."""
    try:
        if idna.encode(idna.decode(label), uts46=True, transitional=False).decode() != label:
            raise ValueError(f"The host label {label!r} is not in canonical punycode form.")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"The host label {label!r} is not valid punycode.") from exc


def _split_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        raise ValueError("Use a domain name, not an IP address.")
    host, colon, port = hostport.rpartition(":")
    if not colon:
        return hostport, None
    if not _PORT.match(port) or not 0 < int(port) <= 65535:
        raise ValueError(f"The port {port!r} is not valid.")
    number = int(port)
    return host, None if number == DEFAULT_PORT else number


@lru_cache(maxsize=1024)
def normalise_domain(entry: str) -> str:
    """An allow-list entry in canonical form: ``[*.]ascii-host[:port]``; ValueError if bad."""
    if not isinstance(entry, str) or not entry:
        raise ValueError("Give a domain name such as shop.example.")
    if _has_forbidden_characters(entry):
        raise ValueError("Must not contain spaces, backslashes or control characters.")
    if any(c in entry for c in "/@?#"):
        raise ValueError("Give a domain name such as shop.example, not a URL.")
    wildcard = entry.startswith("*.")
    rest = entry[2:] if wildcard else entry
    if "*" in rest:
        raise ValueError("A wildcard is only allowed as a leading '*.'.")
    host, port = _split_port(rest)
    host = ascii_host(host)
    if "." not in host:
        raise ValueError("Give a domain name with at least two labels, such as shop.example.")
    return ("*." if wildcard else "") + host + (f":{port}" if port else "")


def _entries(allowed_domains: Iterable[str]) -> list[tuple[str, bool, int | None]]:
    """(host, is_wildcard, port) of each valid entry; invalid entries match nothing."""
    out = []
    for raw in allowed_domains:
        try:
            entry = normalise_domain(raw)
        except (ValueError, TypeError):
            continue
        wildcard = entry.startswith("*.")
        host, port = _split_port(entry[2:] if wildcard else entry)
        out.append((host, wildcard, port))
    return out


def is_allowed_host(host: str, port: int | None, allowed_domains: Iterable[str]) -> bool:
    """Whether an ASCII host and port (None = 443) match an entry of the allow-list."""
    for entry_host, wildcard, entry_port in _entries(allowed_domains):
        if entry_port != port:
            continue
        if host.endswith("." + entry_host) if wildcard else host == entry_host:
            return True
    return False


def check_url(url: str, allowed_domains: Iterable[str]) -> str:
    """The normalised URL if it is https on an allowed domain; ValueError(reason) if not."""
    return _check_url(url, tuple(allowed_domains))


@lru_cache(maxsize=4096)
def _check_url(url: str, allowed_domains: tuple[str, ...]) -> str:
    if not isinstance(url, str) or not url:
        raise ValueError("Give an https:// URL.")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"The URL must be at most {MAX_URL_LENGTH} characters.")
    if _has_forbidden_characters(url):
        raise ValueError("The URL must not contain spaces, backslashes or control characters.")
    if url[:8].lower() != "https://":
        raise ValueError("The URL must be an absolute https:// URL.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError("The URL cannot be parsed.") from exc
    netloc = parts.netloc
    if not netloc:
        raise ValueError("The URL has no host.")
    if "@" in netloc:
        raise ValueError("The URL must not contain user info ('user@').")
    host, port = _split_port(netloc)
    host = ascii_host(host)
    if not allowed_domains:
        raise ValueError(
            "The workspace allows no domains yet: PUT /api/v1/workspace/allowed-domains."
        )
    if not is_allowed_host(host, port, allowed_domains):
        if port is not None and is_allowed_host(host, None, allowed_domains):
            raise ValueError(f"Port {port} is not allowed: list '{host}:{port}' to allow it.")
        raise ValueError(f"The host {host!r} is not on the workspace's allowed domains.")
    normalised = "https://" + host + (f":{port}" if port else "")
    normalised += quote(parts.path, safe=_PATH_SAFE) or "/"
    if parts.query:
        normalised += "?" + quote(parts.query, safe=_QUERY_SAFE)
    if parts.fragment:
        normalised += "#" + quote(parts.fragment, safe=_FRAGMENT_SAFE)
    if len(normalised) > MAX_URL_LENGTH:
        raise ValueError(f"The URL must be at most {MAX_URL_LENGTH} characters once encoded.")
    return normalised
