"""Enrollments: who advocates for a campaign, how they were chosen, and withdrawals.

Named customers are checked for consent and the detractor gate of the latest ranking;
strategies choose among contactable customers over that ranking. Functions add and
flush, and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select, update

from advocacy.advocates.models import AdvocateScore, RankingSnapshot
from advocacy.advocates.service import SelectionView, latest_snapshot, select_for_campaign
from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.campaigns.service import get_campaign
from advocacy.customers.models import Customer
from advocacy.errors import Conflict, NotFound, found
from advocacy.experiments.assignment import assign_advocates
from advocacy.fields import MAX_INT63
from advocacy.graph.sentiment import gate_names
from advocacy.pagination import page_by_id
from advocacy.types import DbSession, utcnow
from advocacy.upserts import insert_ignoring_conflicts
from advocacy.workspaces.service import Actor

ENROLLED, ALREADY_ENROLLED, REFUSED = "enrolled", "already_enrolled", "refused"
NOT_RANKED_YET = "not ranked yet"


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
        return latest_snapshot(session, workspace_id=workspace_id)
    except NotFound:
        return None


def enroll_advocates(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    api_key_id: int | None,
    customers: Sequence[str] | None = None,
    strategy: str | None = None,
    k: int | None = None,
    staff_user_id: int | None = None,
) -> EnrollmentReport:
    """Enroll named customers, or k chosen by a strategy over the latest ranking.

    Idempotent: an active enrollment is reported as already enrolled; a withdrawn one
    is enrolled again. Named customers are refused when unknown, without any contact
    consent, or gated out as detractors by the latest ranking. Strategies choose only
    among contactable customers, never withdrawn ones (staff removed them on purpose).
    """
    campaign = get_campaign(
        session, workspace_id=workspace_id, campaign_id=campaign_id, lock="share"
    )
    if campaign.status == "ended":
        raise Conflict("The campaign has ended: nobody can be enrolled any more.")
    snapshot = _snapshot_or_none(session, workspace_id)
    actor = Actor(api_key_id, staff_user_id)
    if strategy is not None:
        if snapshot is None:
            hint = "No ranking yet: POST /api/v1/advocates/rank first, then enroll by strategy."
            raise Conflict(hint, errors={"strategy": [hint]})
        return _enroll_by_strategy(
            session, campaign, snapshot, actor=actor, strategy=strategy, k=k or 0
        )
    return _enroll_named(session, campaign, snapshot, actor, list(customers or []))


def _enroll_named(
    session: DbSession,
    campaign: Campaign,
    snapshot: RankingSnapshot | None,
    actor: Actor,
    external_ids: list[str],
) -> EnrollmentReport:
    wanted = list(dict.fromkeys(external_ids))
    known = _named_customers(session, campaign, wanted)
    scores = _snapshot_scores(session, campaign, snapshot, [row.id for row in known.values()])
    snapshot_id = snapshot.id if snapshot is not None else None
    version = snapshot.version if snapshot is not None else None
    results: list[dict[str, Any]] = []
    candidates: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for external_id in wanted:
        row = known.get(external_id)
        score = scores.get(row.id) if row is not None else None
        refusal = _named_refusal(external_id, row, score, version)
        if refusal is not None:
            results.append(refusal)
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
        candidates.append((known[external_id].id, values, result))
    _write_enrollments(session, campaign, actor, candidates)
    return EnrollmentReport("manual", snapshot, results)


def _named_customers(session: DbSession, campaign: Campaign, wanted: list[str]) -> dict[str, Any]:
    """The workspace's live customers among the external ids, with their consents."""
    return {
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


def _snapshot_scores(
    session: DbSession,
    campaign: Campaign,
    snapshot: RankingSnapshot | None,
    customer_ids: list[int],
) -> dict[int, Any]:
    """Eligibility, gate and the objective's score of the customers in the snapshot."""
    if snapshot is None or not customer_ids:
        return {}
    score_column = getattr(AdvocateScore, f"score_{campaign.objective}")
    return {
        row.customer_id: row
        for row in session.execute(
            select(
                AdvocateScore.customer_id,
                AdvocateScore.eligible,
                AdvocateScore.gate,
                score_column.label("score"),
            ).where(
                AdvocateScore.snapshot_id == snapshot.id,
                AdvocateScore.customer_id.in_(customer_ids),
            )
        )
    }


def _named_refusal(
    external_id: str, row: Any, score: Any, version: int | None
) -> dict[str, Any] | None:
    """Why a named customer may not be enrolled, or None when they may."""
    if row is None:
        return _result(
            external_id,
            REFUSED,
            reason="unknown_customer",
            detail="No such customer in this workspace.",
        )
    if not (row.consent_email or row.consent_sms or row.consent_social):
        return _result(
            external_id,
            REFUSED,
            reason="no_contact_consent",
            detail="The customer has not consented to email, SMS or social contact.",
        )
    if score is not None and not score.eligible:
        gates = ", ".join(gate_names(score.gate)) or "not eligible"
        return _result(
            external_id,
            REFUSED,
            reason="detractor",
            detail=f"Gated out as a detractor by ranking v{version}: {gates}.",
        )
    return None


def preview_selection(
    session: DbSession, *, workspace_id: int, campaign_id: int, strategy: str, k: int
) -> SelectionView:
    """The advocates enrolling by ``strategy`` would choose now (a read: nothing written).

    Chosen for the campaign's objective among contactable customers, never those staff
    withdrew from it: exactly the set :func:`enroll_advocates` enrolls by that strategy.
    """
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    return _select_for(session, campaign, strategy, k)


def _select_for(session: DbSession, campaign: Campaign, strategy: str, k: int) -> SelectionView:
    silent = select(Customer.id).where(
        Customer.workspace_id == campaign.workspace_id,
        Customer.erased_at.is_(None),
        ~(Customer.consent_email | Customer.consent_sms | Customer.consent_social),
    )
    withdrawn = select(Enrollment.customer_id).where(
        Enrollment.campaign_id == campaign.id, Enrollment.withdrawn_at.is_not(None)
    )
    return select_for_campaign(
        session,
        workspace_id=campaign.workspace_id,
        k=k,
        objective=campaign.objective,
        strategy=strategy,
        excluded=(silent, withdrawn),
    )


def _enroll_by_strategy(
    session: DbSession,
    campaign: Campaign,
    snapshot: RankingSnapshot,
    *,
    actor: Actor,
    strategy: str,
    k: int,
) -> EnrollmentReport:
    selection = _select_for(session, campaign, strategy, k)
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
    _write_enrollments(session, campaign, actor, candidates)
    return EnrollmentReport(strategy, selection.snapshot, results, selection.expected_reach)


def _write_enrollments(
    session: DbSession,
    campaign: Campaign,
    actor: Actor,
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
                    "enrolled_by_key_id": actor.api_key_id,
                    "enrolled_by_staff_id": actor.staff_user_id,
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
                .values(
                    enrolled_by_key_id=actor.api_key_id,
                    enrolled_by_staff_id=actor.staff_user_id,
                    enrolled_at=now,
                    withdrawn_at=None,
                    **values,
                )
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
    session: DbSession, *, workspace_id: int, campaign_id: int, customer_external_id: str
) -> Enrollment:
    """The active enrollment of a customer; NotFound if never enrolled or withdrawn."""
    enrollment = None
    if 0 < campaign_id <= MAX_INT63 and "\x00" not in customer_external_id:
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
    return found(enrollment, f"{customer_external_id!r} is not enrolled in campaign {campaign_id}.")


def withdraw_enrollment(
    session: DbSession, *, workspace_id: int, campaign_id: int, customer_external_id: str
) -> Enrollment:
    """Withdraw an advocate: their links stop working (the click path checks withdrawn_at)."""
    get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    enrollment = get_enrollment(
        session,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        customer_external_id=customer_external_id,
    )
    enrollment.withdrawn_at = utcnow()
    session.flush()
    return enrollment


def list_enrollments(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    limit: int,
    cursor: str | None = None,
    withdrawn: bool | None = None,
) -> tuple[list[Row[tuple[Enrollment, str, int | None]]], str | None]:
    """Enrollments in order of first enrollment, each with its customer's external id and
    the version of the ranking snapshot it was chosen from (None once pruned)."""
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
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
    rows, next_cursor = page_by_id(
        session, query, Enrollment.id, limit=limit, cursor=cursor, row_id=lambda row: row[0].id
    )
    return rows, next_cursor
