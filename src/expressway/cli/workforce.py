"""``expressway workforce …``: initialise orgs of the workforce IdP, and serve it.

The workforce's modules are imported inside the commands (see :mod:`expressway.cli`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel

from expressway.cli import resealing, serving
from expressway.config import Settings, load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from expressway.storage.resealing import SealedColumn
    from expressway.workforce.runtime import WorkforceRuntime

app = typer.Typer(
    help="The enterprise IdP (Okta-compatible) with its orgs and admin API.", no_args_is_help=True
)
console = Console()
oin_app = typer.Typer(
    help="The OIN catalog: an operator's review of submissions.", no_args_is_help=True
)
app.add_typer(oin_app, name="oin")


@app.command()
def init(
    org: Annotated[str, typer.Option(help="The org's name: its URL is /orgs/NAME.")],
    admin_email: Annotated[
        str | None, typer.Option(help="The super admin's login; default admin@NAME.example.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object, for scripts.")
    ] = False,
    public_url: Annotated[
        str | None, typer.Option(help="Public base URL; an org's issuer is URL/orgs/NAME.")
    ] = None,
) -> None:
    """Create an org with its signing keys, a super admin and an API token (idempotent)."""
    from expressway.workforce.bootstrap import initialise_org
    from expressway.workforce.errors import WorkforceError

    overrides = {"workforce_public_url": public_url} if public_url else {}
    runtime = _runtime(load_settings(**overrides))
    try:
        result = initialise_org(runtime, org, admin_email)
    except WorkforceError as exc:
        causes = "; ".join(exc.causes) or exc.summary
        raise typer.BadParameter(causes, param_hint="--org") from exc
    finally:
        runtime.engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "changed": result.changed,
                    "changes": result.changes,
                    "org": result.org_name,
                    "org_url": result.org_url,
                    "issuer": result.org_url,
                    "admin_login": result.admin_login,
                    "admin_password": result.admin_password,
                    "api_token": result.api_token,
                }
            )
        )
        return
    if not result.changed:
        console.print(f"[green]The org {org} is already initialised; nothing changed.[/green]")
        console.print(f"Org URL: [bold]{result.org_url}[/bold]  Admin: {result.admin_login}")
        return
    for change in result.changes:
        console.print(f"[green]✓[/green] {change}")
    if result.api_token:
        console.print(
            Panel.fit(
                f"org URL:   {result.org_url}\n"
                f"admin:     {result.admin_login}\n"
                f"password:  {result.admin_password}\n"
                f"API token: {result.api_token}\n"
                f"           (Authorization: SSWS <token>, at {result.org_url}/api/v1)",
                title="Super admin (the password and token are shown only this once)",
            )
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8402,
    public_url: Annotated[
        str | None, typer.Option(help="Public base URL, when it differs from http://host:port.")
    ] = None,
    workers: serving.WorkersOption = 1,
    access_log: serving.AccessLogOption = True,
) -> None:
    """Serve the workforce IdP (every org's admin API and OpenID provider) with uvicorn."""
    from expressway.workforce.app import create_app
    from expressway.workforce.bootstrap import migrate_database

    url = public_url or f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"  # noqa: S104
    runtime = _runtime(load_settings(workforce_public_url=url))
    migrate_database(runtime)
    serving.run(
        lambda: create_app(runtime),
        "expressway.cli.workforce:worker_app",
        host=host,
        port=port,
        workers=workers,
        environment={"EXPRESSWAY_WORKFORCE_PUBLIC_URL": url},
        access_log=access_log,
    )


def _runtime(settings: Settings) -> WorkforceRuntime:
    from expressway.workforce.runtime import WorkforceRuntime

    return WorkforceRuntime.from_settings(settings)


def _sealed_columns(runtime: WorkforceRuntime) -> Sequence[SealedColumn[Any]]:
    from expressway.workforce.services.resealing import sealed_columns

    return sealed_columns(runtime)


app.command()(resealing.command("workforce", _runtime, _sealed_columns, console))


def worker_app() -> FastAPI:
    """The workforce app of one ``serve --workers`` process, from the environment's settings."""
    serving.tune_interpreter()
    from expressway.workforce.app import create_app

    return create_app(_runtime(load_settings()))


@oin_app.command()
def publish(
    submission_id: Annotated[str, typer.Argument(help="The finished submission's id.")],
) -> None:
    """Publish a finished OIN submission to the global catalog, for every org to add."""
    from expressway.workforce.errors import WorkforceError
    from expressway.workforce.services import oin

    runtime = _runtime(load_settings())
    try:
        with runtime.sessions() as session:
            row, changed = oin.publish_by_operator(session, submission_id, runtime.clock.now())
            session.commit()
    except WorkforceError as exc:
        causes = "; ".join(exc.causes) or exc.summary
        raise typer.BadParameter(causes, param_hint="SUBMISSION_ID") from exc
    finally:
        runtime.engine.dispose()
    if changed:
        console.print(f"[green]✓[/green] Published {row.name} to the catalog as {row.catalog_key}")
    else:
        console.print(
            f"{row.name} is already in the catalog as {row.catalog_key}; nothing changed."
        )
