"""Demo workspace (being written)."""

import click
from flask.cli import with_appcontext


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Build the demo workspace."""
    raise click.ClickException("not yet")
