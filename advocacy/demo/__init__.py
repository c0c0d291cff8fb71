"""The demo workspace behind ``flask --app advocacy demo`` and ``make run``.

``population`` generates the people, their history and the program plan (pure numpy);
``writer`` writes them in bulk (COPY on PostgreSQL); ``campaign`` writes the ended
referral campaign; ``command`` is the CLI command that creates the workspace and owns
the demo's API key.
"""
