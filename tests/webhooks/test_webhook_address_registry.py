"""The webhook address filter against IANA's special-purpose address registries.

The tables are IANA's "IPv4 Special-Purpose Address Registry" and "IPv6 Special-Purpose
Address Registry" (address block, name, RFC, globally reachable), as published in 2025.
Every block that is not globally reachable (False, or N/A for deprecated and tunnelling
blocks) must be refused: its first, middle and last address. Globally reachable entries
(anycast services such as 192.0.0.9/32) may be refused too; nobody's receiver lives there.
"""

from __future__ import annotations

import ipaddress

import pytest

from advocacy.webhooks.delivery import TargetRefused, check_target, is_public_address

# (block, name, RFC, globally reachable: True, False or None for N/A)
IPV4_SPECIAL_PURPOSE = [
    ("0.0.0.0/8", '"This network"', "RFC 791", False),
    ("0.0.0.0/32", '"This host on this network"', "RFC 1122", False),
    ("10.0.0.0/8", "Private-Use", "RFC 1918", False),
    ("100.64.0.0/10", "Shared Address Space", "RFC 6598", False),
    ("127.0.0.0/8", "Loopback", "RFC 1122", False),
    ("169.254.0.0/16", "Link Local", "RFC 3927", False),
    ("172.16.0.0/12", "Private-Use", "RFC 1918", False),
    ("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890", False),
    ("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", False),
    ("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", False),
    ("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", True),
    ("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    ("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880", False),
    ("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880", False),
    ("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", False),
    ("192.31.196.0/24", "AS112-v4", "RFC 7535", True),
    ("192.52.193.0/24", "AMT", "RFC 7450", True),
    ("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", None),
    ("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", False),
    ("192.168.0.0/16", "Private-Use", "RFC 1918", False),
    ("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", True),
    ("198.18.0.0/15", "Benchmarking", "RFC 2544", False),
    ("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", False),
    ("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", False),
    ("240.0.0.0/4", "Reserved", "RFC 1112", False),
    ("255.255.255.255/32", "Limited Broadcast", "RFC 8190", False),
]

IPV6_SPECIAL_PURPOSE = [
    ("::1/128", "Loopback Address", "RFC 4291", False),
    ("::/128", "Unspecified Address", "RFC 4291", False),
    ("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", False),
    ("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", True),
    ("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "RFC 8215", False),
    ("100::/64", "Discard-Only Address Block", "RFC 6666", False),
    ("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", False),
    ("2001::/23", "IETF Protocol Assignments", "RFC 2928", False),
    ("2001::/32", "TEREDO", "RFC 4380", None),
    ("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", True),
    ("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", True),
    ("2001:2::/48", "Benchmarking", "RFC 5180", False),
    ("2001:3::/32", "AMT", "RFC 7450", True),
    ("2001:4:112::/48", "AS112-v6", "RFC 7535", True),
    ("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", None),
    ("2001:20::/28", "ORCHIDv2", "RFC 7343", True),
    ("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", True),
    ("2001:db8::/32", "Documentation", "RFC 3849", False),
    ("2002::/16", "6to4", "RFC 3056", None),
    ("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", True),
    ("3fff::/20", "Documentation", "RFC 9637", False),
    ("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", False),
    ("fc00::/7", "Unique-Local", "RFC 4193", False),
    ("fe80::/10", "Link-Local Unicast", "RFC 4291", False),
]

REGISTRY = IPV4_SPECIAL_PURPOSE + IPV6_SPECIAL_PURPOSE
_REACHABLE = [ipaddress.ip_network(block) for block, _, _, reachable in REGISTRY if reachable]


def _samples(block: str) -> list[str]:
    """First, middle and last address, leaving out those a more specific globally
    reachable entry covers (2002::/16 and 64:ff9b::/96 are judged by the IPv4 inside)."""
    network = ipaddress.ip_network(block)
    picks = {network[0], network[network.num_addresses // 2], network[-1]}
    return sorted(
        str(a)
        for a in picks
        if not any(a in r for r in _REACHABLE if r.version == a.version and r != network)
    )


NOT_GLOBALLY_REACHABLE = [
    pytest.param(address, id=f"{block} {name}")
    for block, name, _, reachable in REGISTRY
    if reachable is not True
    for address in _samples(block)
    if block != "2002::/16"  # 6to4: public or not as the IPv4 address it carries
]


@pytest.mark.parametrize("address", NOT_GLOBALLY_REACHABLE)
def test_special_purpose_addresses_are_refused(address):
    assert not is_public_address(address)


# Every IPv4 special-purpose block, reached through each IPv6 form that embeds IPv4.
EMBEDDED = [
    pytest.param(form(ipaddress.IPv4Address(address)), id=f"{label} {block}")
    for block, _, _, reachable in IPV4_SPECIAL_PURPOSE
    if reachable is not True
    for address in _samples(block)
    for label, form in (
        ("6to4", lambda v4: str(ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80)))),
        ("NAT64", lambda v4: str(ipaddress.IPv6Address((0x64FF9B << 96) | int(v4)))),
        ("mapped", lambda v4: f"::ffff:{v4}"),
        ("compatible", lambda v4: f"::{v4}"),
    )
]


@pytest.mark.parametrize("address", EMBEDDED)
def test_ipv6_forms_embedding_a_special_ipv4_address_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "https://[::127.0.0.1]/hook",  # IPv4-compatible loopback
        "https://[2002:a9fe:a9fe::]/hook",  # 6to4 of 169.254.169.254 (cloud metadata)
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[::ffff:0:127.0.0.1]/hook",  # IPv4-translated loopback
        "https://[fe80::1%25eth0]/hook",  # scoped link-local
    ],
)
def test_the_reported_ipv6_targets_are_refused(url):
    with pytest.raises(TargetRefused):
        check_target(url)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:2800:220:1:248:1893:25c8:1946",
        "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
    ],
)
def test_public_addresses_are_accepted(address):
    assert is_public_address(address)
