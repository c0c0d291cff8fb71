"""A workspace's own settings: its time zone and the brand its public pages show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from advocacy.errors import Unprocessable
from advocacy.types import DbSession
from advocacy.workspaces.models import Workspace
from advocacy.workspaces.service import MAX_NAME_LENGTH, get_workspace

COLOUR = re.compile(r"#[0-9a-f]{6}")
DEFAULT_COLOUR = "#1d4ed8"


@dataclass(frozen=True)
class WorkspaceSettings:
    time_zone: str
    brand_name: str
    brand_colour: str


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA zones this system knows, sorted (UTC first)."""
    return ("UTC", *sorted(z for z in available_timezones() if z != "UTC" and "/" in z))


def workspace_settings(workspace: Workspace) -> WorkspaceSettings:
    return WorkspaceSettings(
        time_zone=workspace.time_zone or "UTC",
        brand_name=workspace.brand_name or workspace.name,
        brand_colour=workspace.brand_colour or DEFAULT_COLOUR,
    )


def get_workspace_settings(session: DbSession, *, workspace_id: int) -> WorkspaceSettings:
    return workspace_settings(get_workspace(session, workspace_id=workspace_id))


def update_workspace_settings(
    session: DbSession, *, workspace_id: int, changes: dict[str, Any]
) -> WorkspaceSettings:
    """Change the time zone, brand name or brand colour (an empty brand: the defaults)."""
    problems: dict[str, list[str]] = {}
    if "time_zone" in changes and changes["time_zone"] not in time_zones():
        problems["time_zone"] = ["Choose an IANA time zone such as Europe/Berlin."]
    name = changes.get("brand_name")
    if name is not None and len(name.strip()) > MAX_NAME_LENGTH:
        problems["brand_name"] = [f"Must be at most {MAX_NAME_LENGTH} characters."]
    colour = changes.get("brand_colour")
    if colour is not None and colour.strip() and not COLOUR.fullmatch(colour.strip().lower()):
        problems["brand_colour"] = ["A colour as #rrggbb, e.g. #1d4ed8."]
    if problems:
        raise Unprocessable("Some settings are not valid; see errors.", errors=problems)
    workspace = get_workspace(session, workspace_id=workspace_id)
    if "time_zone" in changes:
        workspace.time_zone = changes["time_zone"]
    if "brand_name" in changes:
        workspace.brand_name = (name or "").strip() or None
    if "brand_colour" in changes:
        workspace.brand_colour = (colour or "").strip().lower() or None
    session.flush()
    return workspace_settings(workspace)
