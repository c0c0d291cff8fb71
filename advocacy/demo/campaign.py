"""The demo's ended referral campaign, written in bulk: its experiment and everything after.

The plan comes from :mod:`advocacy.demo.population` (``ProgramPlan``). The campaign row and the
experiment go through the ORM and the experiment service (so the variants are checked as
the API checks them); the rest goes through the demo's sink (COPY on PostgreSQL, one
executemany per chunk elsewhere), each table's ids read back by its natural key:
enrollments, assignments (by the experiment's own hash), links (then signed), shares,
clicks, conversions, referrals, rewards with their history, and the ledger (every reward
was issued, so each has its award transaction).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.campaigns.rules import reward_terms
from advocacy.customers.emails import normalize_email
from advocacy.demo.population import (
    CAMPAIGN_END_DAYS,
    CAMPAIGN_START_DAYS,
    CURRENCY,
    DAY,
    LINK_CHANNELS,
    MIN_SAMPLE,
    VARIANT_REWARDS,
    VARIANTS,
    DemoData,
)
from advocacy.experiments.assignment import load_arms
from advocacy.experiments.models import ExperimentAssignment
from advocacy.experiments.service import define_experiment
from advocacy.kpis.models import Share
from advocacy.links import tokens
from advocacy.links.clicks import hash_ip
from advocacy.links.models import Click, ReferralLink
from advocacy.rewards import bookkeeping, ledger, rules
from advocacy.rewards.conversions import facts_fingerprint
from advocacy.rewards.models import (
    Conversion,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Referral,
    Reward,
    RewardEvent,
)
from advocacy.workspaces.models import Workspace

CAMPAIGN_NAME = "Refer a friend: one-way vs two-way"
SHOP_DOMAIN = "northwind.example"
LANDING_URL = f"https://{SHOP_DOMAIN}/welcome?utm_source=referral"
DISCLOSURE = (
    "The friend who invited you is a Northwind customer and earns store credit when you "
    "place your first order."
)
HOLD_DAYS = 14
CHUNK = 10_000
_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
)
# Documentation address blocks (RFC 5737): never anybody's real address.
_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")


class Sink(Protocol):
    """What the demo's writer offers (``advocacy.demo._Sink``)."""

    anchor: datetime

    def stamps(self, seconds: np.ndarray, *, now: bool = False) -> list[Any]: ...

    def write(self, model: Any, chunks: Iterator[list[dict[str, Any]]]) -> None: ...


@dataclass(frozen=True)
class ProgramCounts:
    campaign_id: int
    advocates: int
    clicks: int
    conversions: int
    rewards: int


def _offers() -> list[dict[str, Any]]:
    """The variants in the API's shape: credit to the inviter, a coupon to the invitee."""
    variants = []
    for position, (name, (inviter, invitee)) in enumerate(
        zip(VARIANTS, VARIANT_REWARDS, strict=True)
    ):
        variants.append(
            {
                "name": name,
                "weight": 1,
                "control": position == 0,
                "inviter_reward": {"kind": "credit", "amount": inviter, "currency": CURRENCY}
                if inviter
                else None,
                "invitee_reward": {"kind": "coupon", "amount": invitee, "currency": CURRENCY}
                if invitee
                else None,
            }
        )
    return variants


def _campaign(session: Session, workspace_id: int, anchor: datetime) -> Campaign:
    """The campaign, live while its experiment is defined; ended afterwards."""
    workspace = session.get_one(Workspace, workspace_id)
    workspace.allowed_domains = [SHOP_DOMAIN]
    start = anchor - timedelta(days=CAMPAIGN_START_DAYS)
    control = _offers()[0]["inviter_reward"]
    campaign = Campaign(
        workspace_id=workspace_id,
        name=CAMPAIGN_NAME,
        objective="conversion",
        status="active",
        # The campaign's own offer: what anyone outside the experiment would have got.
        inviter_reward_kind="credit",
        inviter_reward_amount=control["amount"],
        inviter_reward_currency=CURRENCY,
        one_sided=True,
        trigger_event="purchase",
        min_order_amount=0,
        first_purchase_only=True,
        attribution_window_days=30,
        attribution_model="last_click",
        hold_days=HOLD_DAYS,
        starts_at=start,
        ends_at=anchor - timedelta(days=CAMPAIGN_END_DAYS),
        landing_url=LANDING_URL,
        fallback_url=f"https://{SHOP_DOMAIN}/",
        disclosure=DISCLOSURE,
        translations={},
        created_at=start - timedelta(days=7),
        updated_at=start - timedelta(days=7),
    )
    session.add(campaign)
    session.flush()
    experiment = define_experiment(
        session,
        workspace_id=workspace_id,
        campaign_id=campaign.id,
        unit="advocate",
        variants=_offers(),
        min_sample=MIN_SAMPLE,
    )
    experiment.created_at = start - timedelta(days=2)
    campaign.status = "ended"
    campaign.updated_at = anchor - timedelta(days=CAMPAIGN_END_DAYS)
    session.flush()
    return campaign


class _Writer:
    """Writes one campaign's tables in order; each step keeps what the next ones need."""

    def __init__(
        self,
        session: Session,
        sink: Sink,
        *,
        workspace_id: int,
        data: DemoData,
        ids: np.ndarray,
    ) -> None:
        self.session, self.sink = session, sink
        self.workspace_id = workspace_id
        self.plan, self.people, self.ids = data.program, data.customers, ids
        self.campaign = _campaign(session, workspace_id, sink.anchor)
        arms = load_arms(session, campaign_id=self.campaign.id)
        assert arms is not None
        self.arms = arms
        by_name = {v.name: v for v in arms.variants}
        self.variants = [by_name[name] for name in VARIANTS]

    def insert(self, model: Any, rows: list[dict[str, Any]], *key: Any, where: Any = None) -> Any:
        """Write ``rows``; with ``key`` columns (the last one the id), read back natural
        key (one column, or a tuple of several) -> id of the rows matching ``where``."""
        self.sink.write(model, (rows[lo : lo + CHUNK] for lo in range(0, len(rows), CHUNK)))
        if not key:
            return None
        *natural, row_id = key
        found = self.session.execute(select(*natural, row_id).where(where)).all()
        if len(natural) == 1:
            return {row[0]: row[-1] for row in found}
        return {tuple(row[:-1]): row[-1] for row in found}

    def stamp(self, seconds: int) -> Any:
        return self.sink.stamps(np.array([seconds]))[0]

    def advocates(self) -> None:
        """Fill the slots (each candidate takes the next free slot of the variant its hash
        gives), enroll and assign them at the slot's enrollment time."""
        plan, campaign = self.plan, self.campaign
        owner = np.full(plan.slots * len(VARIANTS), -1, dtype=np.int64)
        free = [0] * len(VARIANTS)
        for customer in plan.candidates.tolist():
            v = VARIANTS.index(self.arms.draw(self.people.external_id[customer]).name)
            if free[v] < plan.slots:
                owner[v * plan.slots + free[v]] = customer
                free[v] += 1
                if min(free) == plan.slots:
                    break
        self.filled = np.flatnonzero(owner >= 0)
        self.advocate = np.where(owner >= 0, self.ids[np.maximum(owner, 0)], -1)
        enrolled_at = self.sink.stamps(plan.enrolled[self.filled])
        self.enrollment = self.insert(
            Enrollment,
            [
                {
                    "workspace_id": self.workspace_id,
                    "campaign_id": campaign.id,
                    "customer_id": customer_id,
                    "method": "manual",
                    "snapshot_id": None,
                    "position": None,
                    "score": None,
                    "marginal_gain": None,
                    "enrolled_by_key_id": None,
                    "enrolled_at": at,
                    "withdrawn_at": None,
                }
                for customer_id, at in zip(
                    self.advocate[self.filled].tolist(), enrolled_at, strict=True
                )
            ],
            Enrollment.customer_id,
            Enrollment.id,
            where=Enrollment.campaign_id == campaign.id,
        )
        self.insert(
            ExperimentAssignment,
            [
                {
                    "workspace_id": self.workspace_id,
                    "experiment_id": self.arms.experiment.id,
                    "variant_id": self.variants[slot // plan.slots].id,
                    "customer_id": int(self.advocate[slot]),
                    "assigned_at": at,
                }
                for slot, at in zip(self.filled.tolist(), enrolled_at, strict=True)
            ],
        )

    def links(self, signing_keys: Sequence[str]) -> None:
        """The filled slots' links (signed once they have ids), and their shares."""
        plan, campaign = self.plan, self.campaign
        links = np.flatnonzero(self.advocate[plan.link_slot] >= 0)
        advocate = self.advocate[plan.link_slot[links]].tolist()
        channels = [LINK_CHANNELS[c] for c in plan.link_channel[links].tolist()]
        expires = self.stamp(-CAMPAIGN_END_DAYS * DAY)  # every link ended with the campaign
        found = self.insert(
            ReferralLink,
            [
                {
                    "workspace_id": self.workspace_id,
                    "campaign_id": campaign.id,
                    "enrollment_id": self.enrollment[customer_id],
                    "advocate_id": customer_id,
                    "channel": channel,
                    "invitee_key": "",
                    "invitee_customer_id": None,
                    "invitee_email_normalized": None,
                    "token": "",
                    "created_at": at,
                    "expires_at": expires,
                    "revoked_at": None,
                }
                for customer_id, channel, at in zip(
                    advocate, channels, self.sink.stamps(plan.link_time[links]), strict=True
                )
            ],
            ReferralLink.advocate_id,
            ReferralLink.channel,
            ReferralLink.id,
            where=ReferralLink.campaign_id == campaign.id,
        )
        self.link_id = np.full(len(plan.link_slot), -1, dtype=np.int64)
        self.link_id[links] = [found[key] for key in zip(advocate, channels, strict=True)]
        self.token = {i: tokens.sign_link(i, signing_keys) for i in found.values()}
        table = ReferralLink.__table__
        self.session.execute(
            update(table).where(table.c.id == bindparam("link")).values(token=bindparam("signed")),
            [{"link": i, "signed": token} for i, token in self.token.items()],
        )
        self.insert(
            Share,
            [
                {
                    "workspace_id": self.workspace_id,
                    "share_id": f"demo-share-{number:07d}",
                    "campaign_id": campaign.id,
                    "advocate_id": customer_id,
                    "channel": channel,
                    "link_id": int(self.link_id[i]),
                    "impressions": impressions if impressions >= 0 else None,
                    "occurred_at": at,
                    "created_at": at,
                }
                for number, (i, customer_id, channel, impressions, at) in enumerate(
                    zip(
                        links.tolist(),
                        advocate,
                        channels,
                        plan.share_impressions[links].tolist(),
                        self.sink.stamps(plan.share_time[links]),
                        strict=True,
                    ),
                    start=1,
                )
            ],
        )

    def clicks(self, ip_key: bytes) -> None:
        """Clicks on the links written; every visitor is new (one click each)."""
        plan = self.plan
        clicks = np.flatnonzero(self.link_id[plan.click_link] >= 0)
        devices = plan.click_device[clicks].tolist()
        addresses = [f"{_NETWORKS[d % 3]}.{d // 3 % 254 + 1}" for d in devices]
        hashes = {a: hash_ip(a, ip_key) for a in set(addresses)}
        # Plan index of a written click -> (visitor id, ip hash, user agent).
        self.visit = {
            i: (f"demo-visitor-{i:08d}", hashes[a], _AGENTS[d % len(_AGENTS)])
            for i, a, d in zip(clicks.tolist(), addresses, devices, strict=True)
        }
        self.click_id = self.insert(
            Click,
            [
                {
                    "workspace_id": self.workspace_id,
                    "campaign_id": self.campaign.id,
                    "link_id": int(self.link_id[plan.click_link[i]]),
                    "visitor_id": visitor,
                    "ip_hash": ip_hash,
                    "user_agent": agent,
                    "unique_visit": True,
                    "clicked_at": at,
                }
                for (i, (visitor, ip_hash, agent)), at in zip(
                    self.visit.items(), self.sink.stamps(plan.click_time[clicks]), strict=True
                )
            ],
            Click.visitor_id,
            Click.id,
            where=Click.campaign_id == self.campaign.id,
        )

    def conversions(self) -> None:
        """The purchases of clicks that were written, and their referrals."""
        plan, people, campaign = self.plan, self.people, self.campaign
        kept = [k for k, c in enumerate(plan.conversion_click.tolist()) if c in self.visit]
        times = plan.conversion_time[kept]
        rows, self.referred = [], []
        for number, (k, at, made) in enumerate(
            zip(kept, self.sink.stamps(times), self.sink.stamps(times + 120), strict=True),
            start=1,
        ):
            click = int(plan.conversion_click[k])
            visitor, ip_hash, agent = self.visit[click]
            link = int(plan.click_link[click])
            slot = int(plan.link_slot[link])
            invitee, amount = int(plan.conversion_invitee[k]), int(plan.conversion_amount[k])
            event_id = f"demo-order-{number:07d}"
            report = {
                "event": "purchase",
                "invitee": {"external_id": people.external_id[invitee]},
                "amount": amount,
                "currency": CURRENCY,
                "occurred_at": self.sink.anchor + timedelta(seconds=int(times[number - 1])),
            }
            rows.append(
                {
                    "workspace_id": self.workspace_id,
                    "event_id": event_id,
                    "event": "purchase",
                    "customer_id": int(self.ids[invitee]),
                    "email_normalized": normalize_email(people.email[invitee]),
                    "amount": amount,
                    "currency": CURRENCY,
                    "occurred_at": at,
                    "fingerprint": facts_fingerprint(report),
                    "ref": self.token[int(self.link_id[link])],
                    "visitor_id": visitor,
                    "ip_hash": ip_hash,
                    "user_agent": agent,
                    "attributed": True,
                    "reason": None,
                    "refunded_amount": 0,
                    "created_at": made,
                }
            )
            self.referred.append(
                _Referred(
                    event_id=event_id,
                    link_id=int(self.link_id[link]),
                    click_id=self.click_id[visitor],
                    advocate_id=int(self.advocate[slot]),
                    invitee_id=int(self.ids[invitee]),
                    touched_at=self.stamp(int(plan.click_time[click])),
                    recorded_at=made,
                    variant=self.variants[slot // plan.slots],
                    occurred=int(times[number - 1]),
                )
            )
        conversion_id = self.insert(
            Conversion,
            rows,
            Conversion.event_id,
            Conversion.id,
            where=Conversion.workspace_id == self.workspace_id,
        )
        self.referral_id = self.insert(
            Referral,
            [
                {
                    "workspace_id": self.workspace_id,
                    "campaign_id": campaign.id,
                    "conversion_id": conversion_id[r.event_id],
                    "link_id": r.link_id,
                    "click_id": r.click_id,
                    "advocate_id": r.advocate_id,
                    "invitee_id": r.invitee_id,
                    "evidence": "ref",
                    "touched_at": r.touched_at,
                    "state": "rewarded",
                    "reason": None,
                    "created_at": r.recorded_at,
                    "updated_at": r.recorded_at,
                }
                for r in self.referred
            ],
            Referral.conversion_id,
            Referral.id,
            where=Referral.campaign_id == campaign.id,
        )
        self.conversion_id = conversion_id

    def rewards(self) -> int:
        """Both sides' rewards of the advocate's variant, issued, with their history and
        their award transactions; returns how many."""
        rewards: list[dict[str, Any]] = []
        due: list[int] = []  # seconds before the anchor each reward was approved
        for r in self.referred:
            conversion_id = self.conversion_id[r.event_id]
            approved = r.occurred + HOLD_DAYS * DAY
            for role, beneficiary in (("inviter", r.advocate_id), ("invitee", r.invitee_id)):
                terms = reward_terms(r.variant, role)
                if terms is None:
                    continue
                rewards.append(
                    {
                        "workspace_id": self.workspace_id,
                        "campaign_id": self.campaign.id,
                        "conversion_id": conversion_id,
                        "referral_id": self.referral_id[conversion_id],
                        "role": role,
                        "beneficiary_id": beneficiary,
                        **terms,
                        "state": "issued",
                        "reasons": [],
                        "approve_after": self.stamp(approved),
                        "code": f"NW-{conversion_id:07d}-{role[:3].upper()}",
                        "created_at": r.recorded_at,
                        "updated_at": self.stamp(approved + DAY),
                    }
                )
                due.append(approved)
        found = self.insert(
            Reward,
            rewards,
            Reward.conversion_id,
            Reward.role,
            Reward.id,
            where=Reward.campaign_id == self.campaign.id,
        )
        reward_ids = [found[(r["conversion_id"], r["role"])] for r in rewards]
        self.history(rewards, reward_ids, due)
        self.ledger(rewards, reward_ids, due)
        return len(rewards)

    def history(self, rewards: list[dict[str, Any]], reward_ids: list[int], due: list[int]) -> None:
        """Each reward was created pending, approved when its return window passed, and
        issued (its code sent) a day later."""
        approved = self.sink.stamps(np.array(due))
        issued = self.sink.stamps(np.array(due) + DAY)
        self.insert(
            RewardEvent,
            [
                {
                    "workspace_id": self.workspace_id,
                    "reward_id": reward_id,
                    "from_state": before,
                    "to_state": after,
                    "reason": reason,
                    "api_key_id": None,
                    "at": at,
                }
                for reward, reward_id, approved_at, issued_at in zip(
                    rewards, reward_ids, approved, issued, strict=True
                )
                for before, after, reason, at in (
                    (None, "pending", None, reward["created_at"]),
                    ("pending", "approved", "return window elapsed", approved_at),
                    ("approved", "issued", None, issued_at),
                )
            ],
        )

    def ledger(self, rewards: list[dict[str, Any]], reward_ids: list[int], due: list[int]) -> None:
        """One award per reward, booked when it was approved: the campaign's budget pays the
        beneficiary (the postings of ``bookkeeping.post_awards``)."""
        workspace_id = self.workspace_id
        postings = [
            ledger.award_postings(
                campaign_id=self.campaign.id,
                customer_id=r["beneficiary_id"],
                unit=rules.unit(r["currency"]),
                amount=r["amount"],
            )
            for r in rewards
        ]
        opened = self.stamp(-CAMPAIGN_START_DAYS * DAY)
        accounts = []
        for code in sorted({p.account for legs in postings for p in legs}):
            owner, owner_id, unit = code.split(":")
            budget = owner == "campaign"
            accounts.append(
                {
                    "workspace_id": workspace_id,
                    "code": code,
                    "kind": bookkeeping.CAMPAIGN_BUDGET if budget else bookkeeping.CUSTOMER_REWARDS,
                    "campaign_id": int(owner_id) if budget else None,
                    "customer_id": None if budget else int(owner_id),
                    "unit": unit,
                    "created_at": opened,
                }
            )
        account_id = self.insert(
            LedgerAccount,
            accounts,
            LedgerAccount.code,
            LedgerAccount.id,
            where=LedgerAccount.workspace_id == workspace_id,
        )
        booked = self.sink.stamps(np.array(due))
        transaction_id = self.insert(
            LedgerTransaction,
            [
                {
                    "workspace_id": workspace_id,
                    "reward_id": reward_id,
                    "kind": bookkeeping.AWARD,
                    "reverses_id": None,
                    "created_at": at,
                }
                for reward_id, at in zip(reward_ids, booked, strict=True)
            ],
            LedgerTransaction.reward_id,
            LedgerTransaction.id,
            where=LedgerTransaction.workspace_id == workspace_id,
        )
        self.insert(
            LedgerEntry,
            [
                {
                    "workspace_id": workspace_id,
                    "transaction_id": transaction_id[reward_id],
                    "account_id": account_id[posting.account],
                    "amount": posting.amount,
                    "created_at": at,
                }
                for reward_id, legs, at in zip(reward_ids, postings, booked, strict=True)
                for posting in legs
            ],
        )


@dataclass(frozen=True)
class _Referred:
    """A written conversion, as its referral and rewards need it."""

    event_id: str
    link_id: int
    click_id: int
    advocate_id: int
    invitee_id: int
    touched_at: Any  # column values, as the sink writes them
    recorded_at: Any
    variant: Any  # the advocate's ExperimentVariant
    occurred: int  # seconds before the anchor


def write_program(
    session: Session,
    sink: Sink,
    *,
    workspace_id: int,
    data: DemoData,
    ids: np.ndarray,
    signing_keys: Sequence[str],
    ip_key: bytes,
) -> ProgramCounts:
    """Write the campaign of ``data.program``; ``ids`` maps customer indices to row ids."""
    writer = _Writer(session, sink, workspace_id=workspace_id, data=data, ids=ids)
    writer.advocates()
    writer.links(signing_keys)
    writer.clicks(ip_key)
    writer.conversions()
    rewards = writer.rewards()
    return ProgramCounts(
        campaign_id=writer.campaign.id,
        advocates=len(writer.filled),
        clicks=len(writer.visit),
        conversions=len(writer.referred),
        rewards=rewards,
    )
