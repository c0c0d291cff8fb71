"""Campaigns, their audit trail, the workspace's allowed domains, and enrollments.

Functions take a session and a workspace id, add and flush, and never commit. Campaign
values travel in the API's shape (``inviter_reward: {kind, amount, currency}``,
``trigger: {event, ...}``); ``campaign_values`` and ``_apply`` translate to and from
the flat columns.

For the click path: ``get_campaign``, ``get_enrollment``, ``rules.campaign_is_live`` and
``urls.check_url`` (re-check the stored URL against the current allow-list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update

from advocacy.advocates.models import AdvocateScore, RankingSnapshot
from advocacy.advocates.service import latest_snapshot, select_for_campaign
from advocacy.campaigns.models import Campaign, CampaignAudit, Enrollment
from advocacy.campaigns.rules import (
    FROZEN_WHEN_ENDED,
    campaign_problems,
    reward_terms,
    transition_problem,
)
from advocacy.campaigns.urls import check_url, normalise_domain
from advocacy.customers.models import Customer
from advocacy.customers.service import decode_cursor, encode_cursor
from advocacy.errors import Conflict, NotFound, Unprocessable
from advocacy.experiments.assignment import assign_advocates
from advocacy.graph.sentiment import gate_names
from advocacy.types import DbSession, utcnow
from advocacy.upserts import insert_ignoring_conflicts
from advocacy.workspaces.models import Workspace
from advocacy.workspaces.service import get_workspace

MAX_ID = 2**63 - 1
URL_FIELDS = ("landing_url", "fallback_url")
# Fields whose every change is recorded, with who and when; translated disclosures are
# recorded as "translations.<locale>.disclosure".
AUDITED = (
    "status",
    "inviter_reward",
    "invitee_reward",
    "landing_url",
    "fallback_url",
    "disclosure",
)
PLAIN_FIELDS = (
    "name",
    "objective",
    "status",
    "one_sided",
    "attribution_window_days",
    "attribution_model",
    "hold_days",
    "budget",
    "per_advocate_cap",
    "starts_at",
    "ends_at",
    "landing_url",
    "fallback_url",
    "disclosure",
    "translations",
)

ENROLLED, ALREADY_ENROLLED, REFUSED = "enrolled", "already_enrolled", "refused"
NOT_RANKED_YET = "not ranked yet"


def _invalid_cursor() -> Unprocessable:
    return Unprocessable("Invalid cursor.", errors={"cursor": ["Invalid cursor."]})


def _cursor_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise _invalid_cursor()
    return value


def _cursor_time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise _invalid_cursor() from exc
    if moment.tzinfo is None:
        raise _invalid_cursor()
    return moment


# --- campaigns ------------------------------------------------------------


def get_campaign(
    session: DbSession, workspace_id: int, campaign_id: int, *, lock: str | None = None
) -> Campaign:
    """A campaign of this workspace; NotFound for a missing one or another workspace's.

    ``lock="update"`` (changing it) or ``"share"`` (enrolling into it) takes a row lock on
    PostgreSQL, so an enrollment cannot slip past a concurrent end of the campaign.
    """
    campaign = None
    if 0 < campaign_id <= MAX_ID:
        query = select(Campaign).where(
            Campaign.workspace_id == workspace_id, Campaign.id == campaign_id
        )
        if lock is not None:
            query = query.with_for_update(read=lock == "share")
        campaign = session.scalar(query)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id} in this workspace.")
    return campaign


def campaign_values(campaign: Campaign) -> dict[str, Any]:
    """A campaign's settings in the API's shape."""
    values = {name: getattr(campaign, name) for name in PLAIN_FIELDS}
    values["translations"] = dict(campaign.translations or {})
    values["inviter_reward"] = reward_terms(campaign, "inviter")
    values["invitee_reward"] = reward_terms(campaign, "invitee")
    values["trigger"] = {
        "event": campaign.trigger_event,
        "min_order_amount": campaign.min_order_amount,
        "first_purchase_only": campaign.first_purchase_only,
    }
    return values


def _apply(campaign: Campaign, values: Mapping[str, Any]) -> None:
    for name in PLAIN_FIELDS:
        if name in values:
            setattr(campaign, name, values[name])
    for side in ("inviter", "invitee"):
        if f"{side}_reward" in values:
            reward = values[f"{side}_reward"] or {}
            setattr(campaign, f"{side}_reward_kind", reward.get("kind"))
            setattr(campaign, f"{side}_reward_amount", reward.get("amount"))
            setattr(campaign, f"{side}_reward_currency", reward.get("currency"))
    if "trigger" in values:
        trigger = values["trigger"]
        campaign.trigger_event = trigger["event"]
        campaign.min_order_amount = trigger.get("min_order_amount", 0)
        campaign.first_purchase_only = trigger.get("first_purchase_only", False)


def _checked_urls(
    values: Mapping[str, Any], names: Sequence[str], allowed_domains: Sequence[str]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Normalised URLs for ``names`` in ``values``, and messages for the refused ones."""
    checked: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for name in names:
        url = values.get(name)
        if url is None:
            continue
        try:
            checked[name] = check_url(url, allowed_domains)
        except ValueError as exc:
            problems[name] = [str(exc)]
    return checked, problems


def _audited(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {name: values.get(name) for name in AUDITED}
    for locale, texts in sorted((values.get("translations") or {}).items()):
        if isinstance(texts, Mapping) and texts.get("disclosure") is not None:
            out[f"translations.{locale}.disclosure"] = texts["disclosure"]
    return out


def _record_audit(
    session: DbSession,
    campaign: Campaign,
    api_key_id: int | None,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    at: datetime,
) -> None:
    old, new = _audited(before), _audited(after)
    for name in [*new, *(n for n in old if n not in new)]:
        if old.get(name) != new.get(name):
            session.add(
                CampaignAudit(
                    workspace_id=campaign.workspace_id,
                    campaign_id=campaign.id,
                    api_key_id=api_key_id,
                    at=at,
                    field=name,
                    old_value=old.get(name),
                    new_value=new.get(name),
                )
            )


def create_campaign(
    session: DbSession, workspace_id: int, *, api_key_id: int | None, values: Mapping[str, Any]
) -> Campaign:
    """A new draft campaign; its initial rewards, URLs, disclosure and status are audited."""
    values = {**values, "status": "draft"}
    workspace = get_workspace(session, workspace_id)
    urls, problems = _checked_urls(values, URL_FIELDS, workspace.allowed_domains or [])
    problems = {**campaign_problems(values), **problems}
    if problems:
        raise Unprocessable("The campaign is not consistent; see errors.", errors=problems)
    values.update(urls)
    now = utcnow()
    campaign = Campaign(workspace_id=workspace_id, created_at=now, updated_at=now)
    _apply(campaign, values)
    session.add(campaign)
    session.flush()
    _record_audit(session, campaign, api_key_id, {}, values, now)
    session.flush()
    return campaign


def update_campaign(
    session: DbSession,
    workspace_id: int,
    campaign_id: int,
    *,
    api_key_id: int | None,
    changes: Mapping[str, Any],
) -> Campaign:
    """Change some settings or the status; every change of an audited field is recorded."""
    campaign = get_campaign(session, workspace_id, campaign_id, lock="update")
    before = campaign_values(campaign)
    changed = {name: value for name, value in changes.items() if before.get(name) != value}
    if before["status"] == "ended":
        frozen = {
            name: ["The campaign has ended: its rewards and trigger are final."]
            for name in FROZEN_WHEN_ENDED
            if name in changed
        }
        if frozen:
            raise Conflict(
                "The rewards and trigger of an ended campaign cannot change.", errors=frozen
            )
    if "status" in changed:
        reason = transition_problem(before["status"], changed["status"])
        if reason:
            raise Conflict(reason, errors={"status": [reason]})
    workspace = get_workspace(session, workspace_id)
    urls, problems = _checked_urls(
        changed, [n for n in URL_FIELDS if n in changed], workspace.allowed_domains or []
    )
    changed.update(urls)
    after = {**before, **changed}
    problems = {**campaign_problems(after), **problems}
    if problems:
        raise Unprocessable("The campaign is not consistent; see errors.", errors=problems)
    changed = {name: value for name, value in changed.items() if before.get(name) != value}
    if changed:
        now = utcnow()
        _apply(campaign, changed)
        campaign.updated_at = now
        _record_audit(session, campaign, api_key_id, before, after, now)
        session.flush()
    return campaign


def list_campaigns(
    session: DbSession,
    workspace_id: int,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
) -> tuple[list[Campaign], str | None]:
    """Campaigns, newest first."""
    query = select(Campaign).where(Campaign.workspace_id == workspace_id)
    if status is not None:
        query = query.where(Campaign.status == status)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        query = query.where(Campaign.id < _cursor_id(last_id))
    rows = list(session.scalars(query.order_by(Campaign.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def list_audit(
    session: DbSession, workspace_id: int, campaign_id: int, *, limit: int, cursor: str | None
) -> tuple[list[CampaignAudit], str | None]:
    """A campaign's audit trail, oldest first."""
    campaign = get_campaign(session, workspace_id, campaign_id)
    query = select(CampaignAudit).where(CampaignAudit.campaign_id == campaign.id)
    if cursor:
        stamp, last_id = decode_cursor(cursor, 2)
        after, last_id = _cursor_time(stamp), _cursor_id(last_id)
        query = query.where(
            or_(
                CampaignAudit.at > after,
                and_(CampaignAudit.at == after, CampaignAudit.id > last_id),
            )
        )
    rows = list(
        session.scalars(query.order_by(CampaignAudit.at, CampaignAudit.id).limit(limit + 1))
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].at, rows[-1].id)
    return rows, next_cursor


# --- allowed domains ------------------------------------------------------


@dataclass
class AllowedDomains:
    domains: list[str]
    # Campaigns (not ended) whose landing or fallback URL the list no longer allows:
    # they keep their URLs, but the click path will refuse to redirect there.
    campaigns_outside: list[int] = field(default_factory=list)


def get_allowed_domains(session: DbSession, workspace_id: int) -> AllowedDomains:
    workspace = get_workspace(session, workspace_id)
    return AllowedDomains(
        list(workspace.allowed_domains or []), _campaigns_outside(session, workspace)
    )


def set_allowed_domains(
    session: DbSession, workspace_id: int, *, domains: Sequence[str]
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
    workspace = get_workspace(session, workspace_id)
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


# --- enrollments ----------------------------------------------------------


@dataclass
class EnrollmentReport:
    """What happened to each requested or selected advocate."""

    method: str
    snapshot: RankingSnapshot | None
    results: list[dict[str, Any]]
    expected_reach: float | None = None

    @property
    def snapshot_ref(self) -> dict[str, int] | None:
        if self.snapshot is None:
            return None
        return {"id": self.snapshot.id, "version": self.snapshot.version}

    @property
    def summary(self) -> dict[str, int]:
        counts = {ENROLLED: 0, ALREADY_ENROLLED: 0, REFUSED: 0}
        for result in self.results:
            counts[result["status"]] += 1
        return counts


def _result(customer: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "customer": customer,
        "status": status,
        "reason": None,
        "detail": None,
        "note": None,
        "position": None,
        "score": None,
        "marginal_gain": None,
        **extra,
    }


def _snapshot_or_none(session: DbSession, workspace_id: int) -> RankingSnapshot | None:
    try:
        return latest_snapshot(session, workspace_id)
    except NotFound:
        return None


def enroll_advocates(
    session: DbSession,
    workspace_id: int,
    campaign_id: int,
    *,
    api_key_id: int | None,
    customers: Sequence[str] | None = None,
    strategy: str | None = None,
    k: int | None = None,
) -> EnrollmentReport:
    """Enroll named customers, or k chosen by a strategy over the latest ranking.

    Idempotent: an active enrollment is reported as already enrolled; a withdrawn one
    is enrolled again. Named customers are refused when unknown, without any contact
    consent, or gated out as detractors by the latest ranking. Strategies choose only
    among contactable customers, never withdrawn ones (staff removed them on purpose).
    """
    campaign = get_campaign(session, workspace_id, campaign_id, lock="share")
    if campaign.status == "ended":
        raise Conflict("The campaign has ended: nobody can be enrolled any more.")
    snapshot = _snapshot_or_none(session, workspace_id)
    if strategy is not None:
        if snapshot is None:
            hint = "No ranking yet: POST /api/v1/advocates/rank first, then enroll by strategy."
            raise Conflict(hint, errors={"strategy": [hint]})
        return _enroll_by_strategy(
            session, campaign, snapshot, api_key_id=api_key_id, strategy=strategy, k=k or 0
        )
    return _enroll_named(session, campaign, snapshot, api_key_id, list(customers or []))


def _enroll_named(
    session: DbSession,
    campaign: Campaign,
    snapshot: RankingSnapshot | None,
    api_key_id: int | None,
    external_ids: list[str],
) -> EnrollmentReport:
    wanted = list(dict.fromkeys(external_ids))
    known = {
        row.external_id: row
        for row in session.execute(
            select(
                Customer.id,
                Customer.external_id,
                Customer.consent_email,
                Customer.consent_sms,
                Customer.consent_social,
            ).where(
                Customer.workspace_id == campaign.workspace_id,
                Customer.external_id.in_(wanted),
                Customer.erased_at.is_(None),
            )
        )
    }
    scores: dict[int, Any] = {}
    if snapshot is not None and known:
        score_column = getattr(AdvocateScore, f"score_{campaign.objective}")
        scores = {
            row.customer_id: row
            for row in session.execute(
                select(
                    AdvocateScore.customer_id,
                    AdvocateScore.eligible,
                    AdvocateScore.gate,
                    score_column.label("score"),
                ).where(
                    AdvocateScore.snapshot_id == snapshot.id,
                    AdvocateScore.customer_id.in_([row.id for row in known.values()]),
                )
            )
        }
    snapshot_id = snapshot.id if snapshot is not None else None
    version = snapshot.version if snapshot is not None else None
    results: list[dict[str, Any]] = []
    candidates: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for external_id in wanted:
        row = known.get(external_id)
        if row is None:
            results.append(
                _result(
                    external_id,
                    REFUSED,
                    reason="unknown_customer",
                    detail="No such customer in this workspace.",
                )
            )
            continue
        if not (row.consent_email or row.consent_sms or row.consent_social):
            results.append(
                _result(
                    external_id,
                    REFUSED,
                    reason="no_contact_consent",
                    detail="The customer has not consented to email, SMS or social contact.",
                )
            )
            continue
        score = scores.get(row.id)
        if score is not None and not score.eligible:
            gates = ", ".join(gate_names(score.gate)) or "not eligible"
            results.append(
                _result(
                    external_id,
                    REFUSED,
                    reason="detractor",
                    detail=f"Gated out as a detractor by ranking v{version}: {gates}.",
                )
            )
            continue
        values = {
            "method": "manual",
            "snapshot_id": snapshot_id if score is not None else None,
            "position": None,
            "score": None if score is None else round(float(score.score), 6),
            "marginal_gain": None,
        }
        result = _result(
            external_id,
            ENROLLED,
            score=values["score"],
            note=None if score is not None else NOT_RANKED_YET,
        )
        results.append(result)
        candidates.append((row.id, values, result))
    _write_enrollments(session, campaign, api_key_id, candidates)
    return EnrollmentReport("manual", snapshot, results)


def _enroll_by_strategy(
    session: DbSession,
    campaign: Campaign,
    snapshot: RankingSnapshot,
    *,
    api_key_id: int | None,
    strategy: str,
    k: int,
) -> EnrollmentReport:
    silent = select(Customer.external_id).where(
        Customer.workspace_id == campaign.workspace_id,
        Customer.erased_at.is_(None),
        ~(Customer.consent_email | Customer.consent_sms | Customer.consent_social),
    )
    withdrawn = (
        select(Customer.external_id)
        .join(Enrollment, Enrollment.customer_id == Customer.id)
        .where(Enrollment.campaign_id == campaign.id, Enrollment.withdrawn_at.is_not(None))
    )
    exclude = set(session.scalars(silent)) | set(session.scalars(withdrawn))
    selection = select_for_campaign(
        session,
        campaign.workspace_id,
        k=k,
        objective=campaign.objective,
        strategy=strategy,
        exclude=sorted(exclude),
    )
    ids = dict(
        session.execute(
            select(Customer.external_id, Customer.id).where(
                Customer.workspace_id == campaign.workspace_id,
                Customer.external_id.in_([a["external_id"] for a in selection.advocates]),
            )
        )
        .tuples()
        .all()
    )
    results = []
    candidates = []
    for pick in selection.advocates:
        values = {
            "method": strategy,
            "snapshot_id": selection.snapshot.id,
            "position": pick["position"],
            "score": pick["score"],
            "marginal_gain": pick["marginal_gain"],
        }
        result = _result(
            pick["external_id"],
            ENROLLED,
            position=pick["position"],
            score=pick["score"],
            marginal_gain=pick["marginal_gain"],
        )
        results.append(result)
        candidates.append((ids[pick["external_id"]], values, result))
    _write_enrollments(session, campaign, api_key_id, candidates)
    return EnrollmentReport(strategy, selection.snapshot, results, selection.expected_reach)


def _write_enrollments(
    session: DbSession,
    campaign: Campaign,
    api_key_id: int | None,
    candidates: list[tuple[int, dict[str, Any], dict[str, Any]]],
) -> None:
    """Insert new enrollments, revive withdrawn ones; mark the others already enrolled.

    INSERT ... ON CONFLICT DO NOTHING and a guarded UPDATE make concurrent requests for
    the same advocate enroll them once, the other request reporting already enrolled.
    Advocates enrolled (or re-enrolled) here are assigned to the campaign's experiment
    when it assigns advocates.
    """
    if not candidates:
        return
    table = Enrollment.__table__
    existing = {
        row.customer_id: row
        for row in session.execute(
            select(Enrollment.id, Enrollment.customer_id, Enrollment.withdrawn_at).where(
                Enrollment.campaign_id == campaign.id,
                Enrollment.customer_id.in_([customer_id for customer_id, _, _ in candidates]),
            )
        )
    }
    now = utcnow()
    new_rows = []
    for customer_id, values, result in candidates:
        current = existing.get(customer_id)
        if current is None:
            new_rows.append(
                {
                    "workspace_id": campaign.workspace_id,
                    "campaign_id": campaign.id,
                    "customer_id": customer_id,
                    "enrolled_by_key_id": api_key_id,
                    "enrolled_at": now,
                    "withdrawn_at": None,
                    **values,
                }
            )
        elif current.withdrawn_at is None:
            result["status"] = ALREADY_ENROLLED
        else:
            revived = session.execute(
                update(table)
                .where(table.c.id == current.id, table.c.withdrawn_at.is_not(None))
                .values(enrolled_by_key_id=api_key_id, enrolled_at=now, withdrawn_at=None, **values)
            )
            if revived.rowcount == 1:  # type: ignore[attr-defined]
                result["note"] = "re-enrolled after withdrawal"
            else:
                result["status"] = ALREADY_ENROLLED
    if new_rows:
        statement = insert_ignoring_conflicts(
            session, table, ("campaign_id", "customer_id")
        ).returning(table.c.customer_id)
        inserted = set(session.scalars(statement, new_rows))
        # Rows another request inserted since our SELECT: enrolled by that request.
        for customer_id, _, result in candidates:
            if customer_id not in existing and customer_id not in inserted:
                result["status"] = ALREADY_ENROLLED
    assign_advocates(
        session,
        campaign_id=campaign.id,
        advocates={
            customer_id: result["customer"]
            for customer_id, _, result in candidates
            if result["status"] == ENROLLED
        },
        at=now,
    )
    session.flush()


def get_enrollment(
    session: DbSession, workspace_id: int, campaign_id: int, customer_external_id: str
) -> Enrollment:
    """The active enrollment of a customer; NotFound if never enrolled or withdrawn."""
    enrollment = None
    if 0 < campaign_id <= MAX_ID and "\x00" not in customer_external_id:
        enrollment = session.scalar(
            select(Enrollment)
            .join(Customer, Customer.id == Enrollment.customer_id)
            .where(
                Enrollment.workspace_id == workspace_id,
                Enrollment.campaign_id == campaign_id,
                Enrollment.withdrawn_at.is_(None),
                Customer.workspace_id == workspace_id,
                Customer.external_id == customer_external_id,
            )
        )
    if enrollment is None:
        raise NotFound(f"{customer_external_id!r} is not enrolled in campaign {campaign_id}.")
    return enrollment


def withdraw_enrollment(
    session: DbSession, workspace_id: int, campaign_id: int, customer_external_id: str
) -> Enrollment:
    """Withdraw an advocate: their links stop working (the click path checks withdrawn_at)."""
    get_campaign(session, workspace_id, campaign_id)
    enrollment = get_enrollment(session, workspace_id, campaign_id, customer_external_id)
    enrollment.withdrawn_at = utcnow()
    session.flush()
    return enrollment


def list_enrollments(
    session: DbSession,
    workspace_id: int,
    campaign_id: int,
    *,
    limit: int,
    cursor: str | None = None,
    withdrawn: bool | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Enrollments in order of first enrollment, with how each advocate was chosen."""
    campaign = get_campaign(session, workspace_id, campaign_id)
    query = (
        select(Enrollment, Customer.external_id, RankingSnapshot.version)
        .join(Customer, Customer.id == Enrollment.customer_id)
        # Old snapshots are pruned: their version is then unknown, their id remains.
        .outerjoin(RankingSnapshot, RankingSnapshot.id == Enrollment.snapshot_id)
        .where(Enrollment.campaign_id == campaign.id)
    )
    if withdrawn is not None:
        column = Enrollment.withdrawn_at
        query = query.where(column.is_not(None) if withdrawn else column.is_(None))
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        query = query.where(Enrollment.id > _cursor_id(last_id))
    rows = list(session.execute(query.order_by(Enrollment.id).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    items = [
        {
            "customer": external_id,
            "active": enrollment.withdrawn_at is None,
            "method": enrollment.method,
            "position": enrollment.position,
            "score": enrollment.score,
            "marginal_gain": enrollment.marginal_gain,
            "snapshot_id": enrollment.snapshot_id,
            "snapshot_version": version,
            "enrolled_by_key_id": enrollment.enrolled_by_key_id,
            "enrolled_at": enrollment.enrolled_at,
            "withdrawn_at": enrollment.withdrawn_at,
        }
        for enrollment, external_id, version in rows[:limit]
    ]
    return items, next_cursor
