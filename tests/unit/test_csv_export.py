"""CSV cells that a spreadsheet would run as formulas are written as text."""

from __future__ import annotations

import csv
import io

import pytest

from advocacy.csvexport import csv_text, neutralise_cell

ATTACKS = [
    '=HYPERLINK("https://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_formula_shaped_text_gets_a_leading_apostrophe(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["ann", "a=b", "user@example.com", "", "'quoted", "1-2"])
def test_other_text_is_unchanged(value):
    assert neutralise_cell(value) == value


@pytest.mark.parametrize("value", [-3, -0.5, 0, None, True])
def test_numbers_the_service_computed_stay_numbers(value):
    assert neutralise_cell(value) is value


def test_csv_text_neutralises_every_cell_and_header():
    text = csv_text([{"advocate": ATTACKS[0], "roi": -0.5, "=x": "@y"}], ["advocate", "roi", "=x"])

    header, row = list(csv.reader(io.StringIO(text)))
    assert header == ["advocate", "roi", "'=x"]
    assert row == ["'" + ATTACKS[0], "-0.5", "'@y"]
