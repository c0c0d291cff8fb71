"""Sending one webhook: where it may go, how it goes, when to try again.

Targets are https URLs whose host resolves only to public addresses: private, loopback,
link-local, shared (CGNAT), multicast and reserved ones are refused at every delivery,
and the connection goes to the address that was checked (so a DNS answer cannot change
between the check and the connection). Registration checks what needs no DNS lookup.
Redirects are never followed: a 3xx is a failed attempt. ``WEBHOOK_ALLOW_PRIVATE_TARGETS``
lifts the address and https rules, for tests with a receiver on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "advocacy-webhooks/1"
MAX_URL_LENGTH = 2048
MAX_DELAY_SECONDS = 6 * 3600
_READ_LIMIT = 4096


class TargetRefused(ValueError):
    """A URL webhooks may not be sent to."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    error: str | None = None


def parse_target(url: str, *, allow_private: bool = False) -> Target:
    """Check a URL's shape: https (http only when private targets are allowed), a host,
    no credentials, no fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused("The URL is too long.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("Not a valid URL.") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused("Webhook URLs must use https.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("The URL must not carry credentials.")
    if parts.fragment:
        raise TargetRefused("The URL must not have a fragment.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default_port, path)


# Special-purpose blocks (IANA's IPv4 and IPv6 registries) that ``is_global`` lets through,
# in some supported Python versions at least. A few globally reachable anycast services in
# 192.0.0.0/24 and 2001::/23 are refused with them: nobody's webhook receiver.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(block)
    for block in (
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890), dummy address (RFC 7600)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast (RFC 7526), 6a44 relay (RFC 6751)
        "::/96",  # IPv4-compatible (deprecated, RFC 4291): ::127.0.0.1 is the loopback
        "::ffff:0:0/96",  # IPv4-mapped: a host's own view of IPv4, never a target's address
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation (RFC 8215)
        "100::/64",  # discard-only (RFC 6666)
        "100:0:0:1::/64",  # dummy prefix (RFC 9780)
        "2001::/23",  # IETF protocol assignments, Teredo among them (RFC 2928, 4380)
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs (RFC 9602)
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix (RFC 6052)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a routable IPv6 form reaches through a gateway: 6to4 (2002::/16)
    or NAT64 (64:ff9b::/96). [2002:a9fe:a9fe::] is the metadata service 169.254.169.254."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Whether a webhook may connect to ``address``: globally reachable, not multicast,
    outside every special-purpose block, and so is any IPv4 address it embeds."""
    text, _, zone = address.partition("%")
    if zone:  # a scoped address is link-local by nature
        return False
    ip = ipaddress.ip_address(text)
    if not ip.is_global or ip.is_multicast:
        return False
    if any(ip.version == block.version and ip in block for block in _NOT_PUBLIC):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(str(inner))
    return True


def resolve(target: Target, *, allow_private: bool = False) -> list[str]:
    """The addresses of the target's host; refused if any of them is not public."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"The host {target.host!r} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused(f"The host {target.host!r} does not resolve.")
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise TargetRefused(
            "The host resolves to a private, loopback or otherwise non-public address."
        )
    return addresses


def check_target(url: str, *, allow_private: bool = False) -> Target:
    target = parse_target(url, allow_private=allow_private)
    resolve(target, allow_private=allow_private)
    return target


def check_registration(url: str, *, allow_private: bool = False) -> Target:
    """What can be known of a target without asking DNS: the URL's shape, an address
    written in it (in any form, ``2130706433`` included), a name that is loopback by
    definition (RFC 6761). A name's addresses are checked at every delivery, where the
    connection goes to the address checked: resolving here would put a DNS lookup inside
    the API request and prove nothing about the next one."""
    target = parse_target(url, allow_private=allow_private)
    if allow_private:
        return target
    host = target.host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused("The host is a loopback name.")
    address = _literal_address(host)
    if address is not None and not is_public_address(address):
        raise TargetRefused("The address is private, loopback or otherwise non-public.")
    return target


def _literal_address(host: str) -> str | None:
    """The address a host written as one stands for, parsed as the resolver would
    (inet_aton also reads 2130706433, 0x7f.1 and 127.1); None for a name."""
    if ":" in host:  # IPv6, perhaps scoped: is_public_address judges it
        try:
            ipaddress.ip_address(host.partition("%")[0])
        except ValueError as exc:
            raise TargetRefused("Not a valid IPv6 address.") from exc
        return host
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every delivery of the process: building one loads the system's
    CA certificates, about 20 ms of CPU, once per attempt before."""
    return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = _tls_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def send(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool = False,
) -> Outcome:
    """POST ``body`` once; a 2xx answer is a success, anything else (3xx included) not."""
    try:
        target = parse_target(url, allow_private=allow_private)
        address = resolve(target, allow_private=allow_private)[0]
    except TargetRefused as exc:
        return Outcome(False, error=str(exc))
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, address, timeout)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        response = connection.getresponse()
        response.read(_READ_LIMIT)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
    if 200 <= status < 300:
        return Outcome(True, status)
    return Outcome(False, status, f"HTTP {status}")


def retry_delay(attempts: int, base_seconds: int) -> int:
    """Seconds to wait after the ``attempts``-th failure: base, 2 x base, 4 x base, ...
    capped at six hours."""
    return int(min(base_seconds * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS))
