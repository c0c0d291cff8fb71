"""replace_strings: whole strings of a JSON document, at any depth, keys included."""

from __future__ import annotations

import json

from advocacy.privacy.scrub import json_forms, replace_strings


def test_whole_strings_are_replaced_at_any_depth():
    document = {
        "customer": "zed",
        "referral": {"advocate": "zed", "note": "zed and ann"},
        "rewards": [{"customer": "zed"}, {"customer": "ann"}],
        "amount": 5,
    }

    assert replace_strings(document, {"zed": "~p"}) == {
        "customer": "~p",
        "referral": {"advocate": "~p", "note": "zed and ann"},
        "rewards": [{"customer": "~p"}, {"customer": "ann"}],
        "amount": 5,
    }


def test_a_value_may_become_null_but_a_key_stays():
    assert replace_strings({"a@b.c": "a@b.c"}, {"a@b.c": None}) == {"a@b.c": None}
    assert replace_strings({"zed": 1}, {"zed": "~p"}) == {"~p": 1}


def test_json_forms_match_what_the_default_serialiser_stores():
    stored = json.dumps({"customer": "名前"})

    assert any(form in stored for form in json_forms("名前"))
    assert not any(form in json.dumps({"customer": "名前x"}) for form in json_forms("名前"))
