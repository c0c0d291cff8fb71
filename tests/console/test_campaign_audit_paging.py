"""The campaign audit trail pages newest first with a cursor, as the API's audit list pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from advocacy.campaigns.models import CampaignAudit
from advocacy.console.campaigns import AUDIT_PAGE
from advocacy.types import utcnow
from tests.factories import make_campaign

ENTRIES = AUDIT_PAGE + 7


def _trail(session: Any, workspace_id: int) -> Any:
    campaign = make_campaign(session, workspace_id, status="draft")
    start = utcnow() - timedelta(days=1)
    session.add_all(
        CampaignAudit(
            workspace_id=workspace_id,
            campaign_id=campaign.id,
            at=start + timedelta(minutes=i // 2),  # pairs share a time: the id breaks ties
            field="disclosure",
            old_value=f"text {i - 1}",
            new_value=f"text {i}",
        )
        for i in range(ENTRIES)
    )
    session.commit()
    return campaign


def _shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<td>text (\d+)</td>\s*</tr>", html)]


def test_the_trail_pages_newest_first_without_gaps_or_repeats(
    console: Any, session: Any, workspace: Any
) -> None:
    campaign = _trail(session, workspace.id)
    console.sign_in("viewer")
    first = console.get(f"/campaigns/{campaign.id}/audit").get_data(as_text=True)
    assert _shown(first) == list(range(ENTRIES - 1, ENTRIES - 1 - AUDIT_PAGE, -1))
    older = re.search(r'<a href="([^"]+)" rel="next">Older changes</a>', first)
    assert older, "a link to the older changes"
    second = console.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _shown(second) == list(range(ENTRIES - 1 - AUDIT_PAGE, -1, -1))
    assert "Older changes" not in second and "Newest changes" in second


def test_a_forged_cursor_is_refused(console: Any, session: Any, workspace: Any) -> None:
    campaign = _trail(session, workspace.id)
    console.sign_in("viewer")
    response = console.get(f"/campaigns/{campaign.id}/audit?cursor=not-a-cursor")
    assert 400 <= response.status_code < 500
