"""Scoring the sentiment of a mention's text when the listening tool sent none.

VADER (vaderSentiment) is a lexicon and rule-based model tuned to social media
text: emoticons, capitals, "!!!", negation and slang. Its lexicon is English;
for other languages send the listening tool's own score.
"""

from __future__ import annotations

from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SOURCE = "vader"


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def score_text(text: str) -> float:
    """VADER's compound score, already in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])
