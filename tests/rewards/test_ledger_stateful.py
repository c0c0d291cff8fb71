"""Random sequences of clicks, conversions, replays, refunds, reviews and settlements;
the ledger's invariants are checked after every step."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from advocacy.rewards import rules
from advocacy.rewards.lifecycle import settle_rewards
from advocacy.rewards.models import (
    Conversion,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Reward,
)
from advocacy.types import utcnow
from advocacy.web.clickpath import public_limits
from tests.factories import ApiClient, make_workspace
from tests.rewards.helpers import issue_link, purchase, start_program

VISITORS = ("zoe", "yan", "ann")  # ann is also an advocate: self-referrals happen
KEYS = tuple(f"k{i}" for i in range(8))
_names = itertools.count()


def test_ledger_invariants_hold_under_random_sequences(app, session):
    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            public_limits(app).reset()
            client = app.test_client()
            handle = make_workspace(session, f"Stateful {next(_names)}")
            self.workspace_id = handle.id
            self.api = ApiClient(client, handle.admin_key)
            self.program = start_program(
                session, self.api, handle.id, "ann", "bob", hold_days=3, budget=20000
            )
            self.links = [
                self.program.token,
                issue_link(self.api, self.program.campaign.id, "bob")["token"],
            ]
            self.browsers = {v: app.test_client() for v in VISITORS}
            self.visitor_ids: dict[str, str] = {}
            self.sent: dict[str, tuple[dict[str, Any], int, Any]] = {}
            self.bodies: dict[str, dict[str, Any]] = {}
            self.final: dict[int, str] = {}

        @rule(visitor=st.sampled_from(VISITORS), link=st.integers(0, 1))
        def click(self, visitor: str, link: int) -> None:
            browser = self.browsers[visitor]
            assert browser.get(f"/r/{self.links[link]}").status_code == 302
            self.visitor_ids[visitor] = str(browser.get_cookie("adv_vid").value)

        @rule(
            visitor=st.sampled_from(VISITORS),
            n=st.integers(0, 2),
            key=st.sampled_from(KEYS),
            amount=st.sampled_from([500, 5000, 12000]),
            click_first=st.booleans(),
            with_ref=st.booleans(),
        )
        def convert(self, visitor, n, key, amount, click_first, with_ref) -> None:
            event_id = f"{visitor}-{n}"
            if event_id not in self.bodies:
                if click_first or visitor not in self.visitor_ids:
                    self.click(visitor, n % 2)
                evidence = {"visitor_id": self.visitor_ids[visitor]}
                if with_ref:
                    evidence["ref"] = self.links[n % 2]
                self.bodies[event_id] = purchase(event_id, visitor, amount=amount, **evidence)
            body = self.bodies[event_id]
            response = self.api.post(
                "/api/v1/conversions", json=body, headers={"Idempotency-Key": key}
            )
            # 422: the key was used for another conversion.
            assert response.status_code in (200, 201, 422), response.json
            if response.status_code in (200, 201) and key not in self.sent:
                self.sent[key] = (body, response.status_code, response.json)

        @rule(data=st.data())
        def replay(self, data) -> None:
            if not self.sent:
                return
            key = data.draw(st.sampled_from(sorted(self.sent)))
            body, status, first = self.sent[key]
            response = self.api.post(
                "/api/v1/conversions", json=body, headers={"Idempotency-Key": key}
            )
            assert (response.status_code, response.json) == (status, first)
            assert response.headers["Idempotent-Replayed"] == "true"

        @rule(pick=st.integers(0, 8), amount=st.sampled_from([None, 100, 4000]))
        def refund(self, pick, amount) -> None:
            event_id = sorted(self.bodies)[pick % len(self.bodies)] if self.bodies else "none"
            body = {} if amount is None else {"amount": amount}
            response = self.api.post(f"/api/v1/conversions/{event_id}/refund", json=body)
            assert response.status_code in (200, 404, 422), response.json

        @rule(
            action=st.sampled_from(["approve", "reject", "issue"]),
            pick=st.integers(0, 20),
        )
        def review(self, action, pick) -> None:
            ids = list(
                session.scalars(
                    select(Reward.id)
                    .where(Reward.workspace_id == self.workspace_id)
                    .order_by(Reward.id)
                )
            )
            if not ids:
                return
            reward_id = ids[pick % len(ids)]
            response = self.api.post(
                f"/api/v1/rewards/{reward_id}/{action}", json={"reason": "stateful"}
            )
            assert response.status_code in (200, 409), response.json

        @rule(days=st.integers(0, 5))
        def settle(self, days) -> None:
            settle_rewards(session, now=utcnow() + timedelta(days=days))
            session.commit()

        # --- invariants ----------------------------------------------------------------

        def _mine(self, model):
            return model.workspace_id == self.workspace_id

        @invariant()
        def transactions_balance(self) -> None:
            sums = session.execute(
                select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount))
                .where(self._mine(LedgerEntry))
                .group_by(LedgerEntry.transaction_id)
            ).all()
            assert all(total == 0 for _, total in sums), sums

        @invariant()
        def balances_are_the_booked_rewards(self) -> None:
            ledger = dict(
                session.execute(
                    select(LedgerAccount.customer_id, func.sum(LedgerEntry.amount))
                    .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
                    .where(self._mine(LedgerAccount), LedgerAccount.customer_id.is_not(None))
                    .group_by(LedgerAccount.customer_id)
                ).all()
            )
            booked: dict[int, int] = defaultdict(int)
            for beneficiary, amount in session.execute(
                select(Reward.beneficiary_id, Reward.amount).where(
                    self._mine(Reward), Reward.state.in_(rules.BOOKED)
                )
            ):
                booked[beneficiary] += amount
            for customer_id in set(ledger) | set(booked):
                assert ledger.get(customer_id, 0) == booked.get(customer_id, 0)
            for external_id in ("ann", "bob", *VISITORS):
                page = self.api.get(f"/api/v1/customers/{external_id}/rewards")
                if page.status_code == 404:
                    continue
                api_total = sum(b["amount"] for b in page.json["balance"])
                entries = session.scalar(
                    select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                    .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
                    .where(
                        self._mine(LedgerAccount),
                        LedgerAccount.customer_id == _customer_id(external_id, self.workspace_id),
                    )
                )
                assert api_total == entries

        @invariant()
        def at_most_two_rewards_per_conversion(self) -> None:
            counts = session.execute(
                select(Reward.conversion_id, func.count(), func.count(func.distinct(Reward.role)))
                .where(self._mine(Reward))
                .group_by(Reward.conversion_id)
            ).all()
            assert all(n <= 2 and n == roles for _, n, roles in counts), counts
            per_event = session.execute(
                select(Conversion.event_id, func.count())
                .where(self._mine(Conversion))
                .group_by(Conversion.event_id)
            ).all()
            assert all(n == 1 for _, n in per_event)

        @invariant()
        def at_most_one_reversal_per_transaction(self) -> None:
            reversals = session.execute(
                select(LedgerTransaction.reverses_id, func.count())
                .where(self._mine(LedgerTransaction), LedgerTransaction.kind == "reversal")
                .group_by(LedgerTransaction.reverses_id)
            ).all()
            assert all(n == 1 for _, n in reversals)
            reversed_rewards = set(
                session.scalars(
                    select(Reward.id).where(self._mine(Reward), Reward.state == rules.REVERSED)
                )
            )
            reversed_in_ledger = set(
                session.scalars(
                    select(LedgerTransaction.reward_id).where(
                        self._mine(LedgerTransaction), LedgerTransaction.kind == "reversal"
                    )
                )
            )
            assert reversed_rewards == reversed_in_ledger

        @invariant()
        def final_states_are_final(self) -> None:
            for reward_id, state in session.execute(
                select(Reward.id, Reward.state).where(self._mine(Reward))
            ):
                if reward_id in self.final:
                    assert state == self.final[reward_id]
                elif state in rules.FINAL:
                    self.final[reward_id] = state

    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def _customer_id(external_id: str, workspace_id: int) -> Any:
    from advocacy.customers.models import Customer

    return (
        select(Customer.id)
        .where(Customer.workspace_id == workspace_id, Customer.external_id == external_id)
        .scalar_subquery()
    )
