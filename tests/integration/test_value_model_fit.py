"""The ranking job fits the value model to the demo's ended campaign; reads never refit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def demo_key(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The full-size demo (its campaign enrolled 332 advocates); its admin key."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    result = app.test_cli_runner().invoke(args=["demo", "--name", "Fit", "--print-usage"])
    assert result.exit_code == 0, (result.output, result.exception)
    match = re.search(r"admin API key: (adv_\S+)", result.output)
    assert match, result.output
    return match.group(1)


def test_the_demo_history_is_fitted_with_a_time_based_holdout(
    client: FlaskClient, demo_key: str
) -> None:
    headers = {"Authorization": f"Bearer {demo_key}"}
    ranked = client.post("/api/v1/advocates/rank", headers=headers)
    assert ranked.status_code == 201
    model = ranked.json["model"]
    fit = model["fit"]
    assert fit["invitations"] == 332 and fit["campaigns"] == 1
    assert fit["conversions"] >= fit["threshold"]["conversions"] == 30
    assert fit["invitations"] >= fit["threshold"]["invitations"] == 200
    holdout = fit["holdout"]
    assert holdout["invitations"] == round(332 * 0.2)
    for candidate in ("fitted", "prior"):
        assert 0 <= holdout[candidate]["auc"] <= 1
        deciles = holdout[candidate]["calibration"]
        assert [d["decile"] for d in deciles] == list(range(1, 11))
        assert sum(d["invitations"] for d in deciles) == holdout["invitations"]
        assert sum(d["observed"] for d in deciles) == holdout["conversions"]
    assert model["source"] in {"fitted", "prior_calibrated"}
    assert fit["decision"].startswith(model["source"].split("_")[0])
    assert set(model["exponents"]) == {
        "audience",
        "attitude",
        "engagement",
        "trust",
        "track_record",
    }

    # Reads show the same model and never refit: same snapshot, same numbers.
    listed = client.get(
        "/api/v1/advocates",
        headers=headers,
        query_string={"objective": "conversion", "eligible": "true", "limit": 50},
    ).json
    assert listed["snapshot"]["version"] == ranked.json["version"]
    assert listed["snapshot"]["model"] == model
    top = listed["items"][0]
    assert top["expected_people"] > 0 and 0 < top["share_probability"] <= 1
    assert any(reason.endswith("would act on their word") for reason in top["reasons"])
    assert client.get("/api/v1/advocates", headers=headers).json["snapshot"]["model"] == model


def test_flask_rank_says_which_model_it_used(app: Flask, demo_key: str) -> None:
    result = app.test_cli_runner().invoke(args=["rank"])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"value model: (fitted|prior_calibrated) \(332 past invitations; holdout AUC "
        r"[0-9.]+ fitted vs [0-9.]+ prior\)",
        result.output,
    ), result.output
