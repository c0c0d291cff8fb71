"""The workspace's allow-list of link destinations (a workspace setting).

Campaign landing and fallback URLs must be on it; changing it reports the campaigns
(not ended) whose URLs it no longer allows: they keep their URLs, but the click path
refuses to redirect there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from advocacy.campaigns.models import Campaign
from advocacy.campaigns.urls import check_url, normalise_domain
from advocacy.errors import Unprocessable
from advocacy.types import DbSession
from advocacy.workspaces.models import Workspace
from advocacy.workspaces.service import get_workspace


@dataclass
class AllowedDomains:
    domains: list[str]
    # Campaigns (not ended) whose landing or fallback URL the list no longer allows:
    # they keep their URLs, but the click path will refuse to redirect there.
    campaigns_outside: list[int] = field(default_factory=list)


def get_allowed_domains(session: DbSession, *, workspace_id: int) -> AllowedDomains:
    workspace = get_workspace(session, workspace_id=workspace_id)
    return AllowedDomains(
        list(workspace.allowed_domains or []), _campaigns_outside(session, workspace)
    )


def set_allowed_domains(
    session: DbSession, *, workspace_id: int, domains: Sequence[str]
) -> AllowedDomains:
    """Replace the workspace's allow-list with normalised, de-duplicated entries."""
    normalised: list[str] = []
    problems: dict[str, list[str]] = {}
    for index, entry in enumerate(domains):
        try:
            domain = normalise_domain(entry)
        except ValueError as exc:
            problems[f"domains.{index}"] = [str(exc)]
            continue
        if domain not in normalised:
            normalised.append(domain)
    if problems:
        raise Unprocessable("Some domains are not valid; see errors.", errors=problems)
    workspace = get_workspace(session, workspace_id=workspace_id)
    workspace.allowed_domains = normalised
    session.flush()
    return AllowedDomains(normalised, _campaigns_outside(session, workspace))


def _campaigns_outside(session: DbSession, workspace: Workspace) -> list[int]:
    allowed = list(workspace.allowed_domains or [])
    outside = []
    rows = session.execute(
        select(Campaign.id, Campaign.landing_url, Campaign.fallback_url)
        .where(Campaign.workspace_id == workspace.id, Campaign.status != "ended")
        .order_by(Campaign.id)
    )
    for row in rows:
        for url in (row.landing_url, row.fallback_url):
            if url is None:
                continue
            try:
                check_url(url, allowed)
            except ValueError:
                outside.append(row.id)
                break
    return outside
