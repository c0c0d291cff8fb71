"""Canonical email addresses, for matching one person behind several spellings."""

from __future__ import annotations

import pytest

from advocacy.customers.emails import normalize_email


@pytest.mark.parametrize(
    ("email", "canonical"),
    [
        ("Ann@Example.com", "ann@example.com"),
        ("  ann@example.com  ", "ann@example.com"),
        ("ann+newsletter@example.com", "ann@example.com"),
        ("ann+a+b@example.com", "ann@example.com"),
        ("a.n.n@gmail.com", "ann@gmail.com"),
        ("A.nn+x@GoogleMail.com", "ann@gmail.com"),
        ("a.nn@example.com", "a.nn@example.com"),
    ],
)
def test_normalize_email(email, canonical):
    assert normalize_email(email) == canonical


def test_gmail_spellings_of_one_person_match():
    spellings = ["Ann.Lee@gmail.com", "annlee+shop@gmail.com", "ann.lee@googlemail.com"]

    assert {normalize_email(s) for s in spellings} == {"annlee@gmail.com"}


def test_string_without_at_is_only_lowercased():
    assert normalize_email(" NoAt ") == "noat"
