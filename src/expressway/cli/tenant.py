"""``expressway tenant …``: initialise and serve the vendor-side tenant.

The tenant's modules are imported inside the commands (see :mod:`expressway.cli`).
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
    from expressway.tenant.bootstrap import InitResult
    from expressway.tenant.runtime import TenantRuntime

app = typer.Typer(
    help="The SaaS vendor's identity platform (Auth0-compatible).", no_args_is_help=True
)
console = Console()


@app.command()
def init(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object, for scripts.")
    ] = False,
    public_url: Annotated[
        str | None, typer.Option(help="Public base URL; the issuer is this URL with a slash.")
    ] = None,
) -> None:
    """Create the database, signing keys, Management API and admin client (idempotent)."""
    from expressway.tenant.bootstrap import initialise_tenant

    overrides = {"tenant_public_url": public_url} if public_url else {}
    settings = load_settings(**overrides)
    runtime = _runtime(settings)
    result = initialise_tenant(runtime)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "changed": result.changed,
                    "changes": result.changes,
                    "issuer": settings.tenant_issuer,
                    "management_audience": settings.management_audience,
                    "client_id": result.admin_client_id,
                    "client_secret": result.admin_client_secret,
                    "dashboard_admin_email": result.dashboard_admin_email,
                    "dashboard_admin_password": result.dashboard_admin_password,
                }
            )
        )
        return
    if not result.changed:
        console.print("[green]The tenant is already initialised; nothing changed.[/green]")
        console.print(f"Admin client id: [bold]{result.admin_client_id}[/bold]")
        return
    for change in result.changes:
        console.print(f"[green]✓[/green] {change}")
    if result.admin_client_secret:
        console.print(
            Panel.fit(
                f"client_id:     {result.admin_client_id}\n"
                f"client_secret: {result.admin_client_secret}\n"
                f"audience:      {settings.management_audience}\n"
                f"token URL:     {settings.tenant_issuer}oauth/token",
                title="Management API client (the secret is shown only this once)",
            )
        )
    _print_dashboard_admin(result, settings.tenant_public_url)


def _print_dashboard_admin(result: InitResult, public_url: str) -> None:
    if result.dashboard_admin_password:
        console.print(
            Panel.fit(
                f"URL:      {public_url.rstrip('/')}/dashboard\n"
                f"e-mail:   {result.dashboard_admin_email}\n"
                f"password: {result.dashboard_admin_password}",
                title="Dashboard admin (the password is shown only this once)",
            )
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8401,
    public_url: Annotated[
        str | None, typer.Option(help="Public base URL, when it differs from http://host:port.")
    ] = None,
    workers: serving.WorkersOption = 1,
    access_log: serving.AccessLogOption = True,
) -> None:
    """Serve the tenant (Management API and Authentication API) with uvicorn."""
    from expressway.tenant.bootstrap import initialise_tenant

    url = public_url or f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"  # noqa: S104
    runtime = _runtime(load_settings(tenant_public_url=url))
    # Serving a tenant never initialised makes its dashboard admin here: say so, once.
    _print_dashboard_admin(initialise_tenant(runtime), url)
    serving.run(
        lambda: _ready_app(runtime),
        "expressway.cli.tenant:worker_app",
        host=host,
        port=port,
        workers=workers,
        environment={"EXPRESSWAY_TENANT_PUBLIC_URL": url},
        access_log=access_log,
    )


def _runtime(settings: Settings) -> TenantRuntime:
    from expressway.tenant.runtime import TenantRuntime

    return TenantRuntime.from_settings(settings)


def _sealed_columns(runtime: TenantRuntime) -> Sequence[SealedColumn[Any]]:
    from expressway.tenant.services.resealing import sealed_columns

    return sealed_columns(runtime)


app.command()(resealing.command("tenant", _runtime, _sealed_columns, console))


def worker_app() -> FastAPI:
    """The tenant app of one ``serve --workers`` process, from the environment's settings."""
    serving.tune_interpreter()
    return _ready_app(_runtime(load_settings()))


def _ready_app(runtime: TenantRuntime) -> FastAPI:
    """The app, with the signing key opened before the first request.

    Opening it later would happen inside a token request's write transaction, on a connection of
    its own: under a burst of first requests, every pooled connection can be held by requests
    waiting for that transaction's lock, and the opening would wait for one of them.
    """
    from expressway.tenant.app import create_app

    app = create_app(runtime)
    runtime.signing_keys.current()
    return app
