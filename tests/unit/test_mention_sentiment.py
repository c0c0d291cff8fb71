"""VADER scores for mentions that arrive without the listening tool's own score."""

from __future__ import annotations

import pytest

from advocacy.customers.sentiment import SOURCE, score_text


def test_positive_text_scores_above_zero():
    assert score_text("I love this brand, the support team was amazing!") > 0


def test_negative_text_scores_below_zero():
    assert score_text("Worst purchase ever. Broken on arrival and nobody answers.") < 0


def test_neutral_text_scores_zero():
    assert score_text("The parcel arrived on Tuesday.") == 0


def test_negation_flips_the_score():
    assert score_text("not good at all") < 0 < score_text("good")


def test_emphasis_strengthens_the_score():
    assert score_text("GREAT!!!") > score_text("great")


@pytest.mark.parametrize("text", ["", "😀😀😀 LOVE IT " * 200, "ñ" * 10_000, "\t\n"])
def test_score_is_always_within_minus_one_and_one(text):
    assert -1 <= score_text(text) <= 1


def test_source_is_named_vader():
    assert SOURCE == "vader"
