"""Where webhooks may go: https, public addresses only, no credentials; back-off."""

from __future__ import annotations

import pytest

from advocacy.webhooks import delivery
from advocacy.webhooks.delivery import TargetRefused


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00::1]/hook",
        "https://224.0.0.1/hook",
    ],
)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(TargetRefused):
        delivery.check_target(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pw@93.184.216.34/hook",
        "https://93.184.216.34/hook#frag",
        "https:///hook",
        "not a url",
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url):
    with pytest.raises(TargetRefused):
        delivery.parse_target(url)


def test_a_public_https_address_is_accepted():
    target = delivery.check_target("https://93.184.216.34:8443/hooks?x=1")
    assert (target.host, target.port, target.path) == ("93.184.216.34", 8443, "/hooks?x=1")


def test_private_targets_only_when_explicitly_allowed():
    target = delivery.check_target("http://127.0.0.1:9/hook", allow_private=True)
    assert target.scheme == "http"


def test_delivery_rechecks_the_address():
    outcome = delivery.send("https://127.0.0.1/hook", b"{}", {}, timeout=1)
    assert not outcome.ok
    assert "non-public" in (outcome.error or "")


def test_retries_back_off_exponentially_up_to_six_hours():
    assert [delivery.retry_delay(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert delivery.retry_delay(30, 30) == 6 * 3600
