"""Property-based tests of the whole API from its own OpenAPI document (Schemathesis).

Every operation gets a bounded number of generated requests, valid ones and invalid
ones, sent in-process to the WSGI app with a real admin key. No answer may be a
server error, and every answer must match the schema and content type the document
declares for it.

Schemathesis' pytest integration (``schemathesis.pytest.from_fixture``) does not run
under pytest 9.2, so the cases come from ``APIOperation.as_strategy`` under Hypothesis'
own ``@given``. All requests go through the ``client`` fixture's rolled-back
transaction, which the last assertion checks.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy import create_engine, func, select

from advocacy.customers.models import Customer
from tests.factories import put_customers

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Customers that exist, so that generated requests also reach code behind the 404.
KNOWN = ("ann", "bob")

SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same cases on every run, so CI cannot flake
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _cases(operation, mode):
    strategy = operation.as_strategy(generation_mode=mode)
    if not any(
        p.location == "path" and p.name == "external_id" for p in operation.iter_parameters()
    ):
        return strategy
    known = [
        operation.as_strategy(generation_mode=mode, path_parameters={"external_id": name})
        for name in KNOWN
    ]
    return st.one_of(strategy, *known)


def _run(operation, mode, key):
    @SETTINGS
    @given(case=_cases(operation, mode))
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

    check()


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], ids=str
)
def test_api_conforms_to_its_openapi_document(
    app, api, workspace, session, database_url, mode, monkeypatch
):
    # Thousands of generated requests under one key: the per-key upload limits (tested in
    # test_upload_limits_api.py) would answer most of them 429.
    monkeypatch.setitem(app.config, "IMPORT_RATE_LIMIT", "100000 per minute")
    monkeypatch.setitem(app.config, "BATCH_RATE_LIMIT", "100000 per minute")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        _seed(api)  # again for each operation: an earlier DELETE may have erased them
        try:
            _run(operation, mode, workspace.admin_key)
        except Exception as exc:  # report every failing operation, not only the first
            failures.append(f"{operation.label}:\n{exc}")

    assert operations >= 10
    assert not failures, "\n\n".join(failures)
    assert session.scalar(select(func.count()).select_from(Customer)) >= len(KNOWN)
    assert _committed_customers(database_url, workspace.id) == 0


def _seed(api):
    put_customers(api, *KNOWN)
    edge = {"source": "ann", "target": "bob", "channel": "x", "likes": 1}
    event = {"customer": "ann", "kind": "login", "occurred_at": "2024-05-01T00:00:00Z"}
    assert api.post("/api/v1/connections", json={"items": [edge]}).status_code == 200
    assert api.post("/api/v1/events", json={"items": [event]}).status_code == 200


def _committed_customers(database_url, workspace_id):
    """What another connection sees: nothing, if every write stayed in the test transaction."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                select(func.count())
                .select_from(Customer)
                .where(Customer.workspace_id == workspace_id)
            )
    finally:
        engine.dispose()
