"""Staff roles, each a set of API scopes: one rule (``Principal.allows``) decides for both.

A person's role in a workspace becomes a :class:`Principal` with the role's scopes, the
same object an API key becomes, so a console page and the API endpoint it mirrors ask the
same question ("may this principal use scope X?") and get the same answer.
"""

from __future__ import annotations

from types import MappingProxyType

from advocacy.workspaces.service import Principal

ROLES = ("owner", "manager", "reviewer", "viewer")

ROLE_SCOPES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        # Everything, staff and keys included.
        "owner": frozenset({"admin"}),
        # Campaigns, enrollment, experiments; customer data and links (write).
        "manager": frozenset({"read", "write", "campaigns"}),
        # The review queue: approve, reject, issue rewards.
        "reviewer": frozenset({"read", "rewards"}),
        # Read and export.
        "viewer": frozenset({"read"}),
    }
)

ROLE_DESCRIPTIONS = MappingProxyType(
    {
        "owner": "everything, including staff, API keys and webhooks",
        "manager": "campaigns, enrollment, experiments, customer data and links",
        "reviewer": "the review queue: approve, reject and issue rewards",
        "viewer": "read and export",
    }
)


def staff_principal(*, staff_user_id: int, workspace_id: int, role: str) -> Principal:
    """What a staff member may do in a workspace, as the API would see a key."""
    return Principal(
        api_key_id=None,
        workspace_id=workspace_id,
        scopes=ROLE_SCOPES[role],
        staff_user_id=staff_user_id,
    )
