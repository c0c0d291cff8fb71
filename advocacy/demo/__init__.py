"""The demo workspace behind ``flask --app advocacy demo`` and ``make run``.

``population`` generates the people, their history and the program plan (pure numpy),
``campaign`` writes the ended referral campaign, ``command`` is the CLI command that
writes it all and owns the demo's API key.
"""
