"""Key hashing and scope checks: plain functions, no database."""

from __future__ import annotations

import pytest

from advocacy.workspaces.service import KEY_PREFIX, SCOPES, Principal, hash_key


def _principal(*scopes):
    return Principal(api_key_id=1, workspace_id=1, scopes=frozenset(scopes))


def test_hash_is_sha256_hex():
    digest = hash_key("adv_secret")

    assert len(digest) == 64
    assert digest == hash_key("adv_secret")
    assert digest != hash_key("adv_secret2")


def test_key_prefix_is_recognisable():
    assert KEY_PREFIX == "adv_"


def test_scopes_are_the_documented_ones():
    assert set(SCOPES) == {"read", "write", "campaigns", "rewards", "conversions", "admin"}


@pytest.mark.parametrize("scope", SCOPES)
def test_admin_allows_every_scope(scope):
    assert _principal("admin").allows(scope)


def test_a_scope_allows_only_itself():
    reader = _principal("read")

    assert reader.allows("read")
    assert not reader.allows("write")
    assert not reader.allows("admin")


def test_no_scope_allows_nothing():
    assert not any(_principal().allows(scope) for scope in SCOPES)
