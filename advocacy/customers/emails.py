"""Canonical email addresses, for matching one person behind several spellings."""

from __future__ import annotations

# Providers that ignore dots in the local part (and so deliver a.b@ and ab@ alike).
DOTS_IGNORED = frozenset({"gmail.com", "googlemail.com"})
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}


def normalize_email(email: str) -> str:
    """Lowercase, drop a ``+tag``, drop dots where the provider ignores them."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    if domain in DOTS_IGNORED:
        local = local.replace(".", "")
    return f"{local}@{DOMAIN_ALIASES.get(domain, domain)}"
