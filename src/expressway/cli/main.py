"""The ``expressway`` command."""

from __future__ import annotations

import typer

from expressway import __version__
from expressway.cli import demo, doctor, sample_app, tenant, workforce

app = typer.Typer(
    name="expressway",
    help="Express Configuration of SSO, SCIM and Universal Logout, both sides of it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(tenant.app, name="tenant")
app.add_typer(workforce.app, name="workforce")
app.add_typer(sample_app.app, name="sample-app")
app.command("demo")(demo.demo)
app.command("doctor")(doctor.doctor)


@app.command()
def version() -> None:
    """Print Expressway's version."""
    typer.echo(__version__)
