"""`stack version`: stack's version (`--short`: the number alone; `--format json`)."""

from __future__ import annotations

import click


@click.command("version")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["pretty", "json"]),
    default="pretty",
    show_default=True,
    help="Output format.",
)
@click.option("--short", is_flag=True, help="Only the version number.")
def version(fmt: str, short: bool) -> None:
    """Show stack's version."""
    from stack.cli.quick import version_text

    click.echo(version_text(fmt, short), nl=False)
