"""``expressway demo``: the main job (SPEC §6).

It starts the tenant, the workforce IdP and the sample app on SQLite under one data directory,
seeds the support case (the role missing, Home Realm Discovery off, the admin not a member),
plays the story and narrates it, then keeps the three running for a person to click through.

The demo, the systems and the doctor are imported when the command runs (see
:mod:`expressway.cli`).
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.json import JSON
from rich.panel import Panel
from rich.table import Table

from expressway.config import load_settings

if TYPE_CHECKING:
    from expressway.demo.story import Step

console = Console()

OPERATOR_NAME = "expressway demo"


def _print_step(step: Step) -> None:
    mark = "[green]✓[/green]" if step.ok else "[red]✗[/red]"
    console.rule(f"{mark} {step.title}", align="left")
    for line in step.lines:
        console.print(f"  {line}", highlight=False)
    if step.document is not None:
        console.print(JSON.from_data(step.document))


def demo(
    tenant_port: Annotated[int, typer.Option(help="Port of the tenant.")] = 8401,
    workforce_port: Annotated[int, typer.Option(help="Port of the workforce IdP.")] = 8402,
    sample_app_port: Annotated[int, typer.Option(help="Port of the sample app.")] = 8400,
    serve: Annotated[
        bool, typer.Option(help="Keep the three services running after the story.")
    ] = True,
) -> None:
    """Start the tenant, the workforce IdP and the sample app, and play the support case."""
    from pydantic import SecretStr

    from expressway.demo import story as demo_story
    from expressway.demo.servers import BackgroundServer, ServerFailed
    from expressway.doctor.inputs import Credentials
    from expressway.sample_app.app import create_app as create_sample_app
    from expressway.tenant.app import create_app as create_tenant_app
    from expressway.tenant.bootstrap import initialise_tenant, rotate_operator_client
    from expressway.tenant.runtime import TenantRuntime
    from expressway.workforce.app import create_app as create_workforce_app
    from expressway.workforce.bootstrap import initialise_org, rotate_operator_token
    from expressway.workforce.runtime import WorkforceRuntime

    started = time.monotonic()
    tenant_url = f"http://localhost:{tenant_port}"
    workforce_url = f"http://localhost:{workforce_port}"
    sample_url = f"http://localhost:{sample_app_port}"
    settings = load_settings(
        tenant_public_url=tenant_url,
        workforce_public_url=workforce_url,
        sample_app_public_url=sample_url,
    )
    with console.status("Preparing the data directory…"):
        tenant_runtime = TenantRuntime.from_settings(settings)
        initialised = initialise_tenant(tenant_runtime)
        client_id, client_secret = rotate_operator_client(tenant_runtime, OPERATOR_NAME)
        workforce_runtime = WorkforceRuntime.from_settings(settings)
        org_initialised = initialise_org(workforce_runtime, demo_story.ORG_NAME)
        sso_token = rotate_operator_token(workforce_runtime, demo_story.ORG_NAME, OPERATOR_NAME)
    servers = [
        BackgroundServer("tenant", create_tenant_app(tenant_runtime), "127.0.0.1", tenant_port),
        BackgroundServer(
            "workforce IdP",
            create_workforce_app(workforce_runtime),
            "127.0.0.1",
            workforce_port,
        ),
    ]
    try:
        for server in servers:
            server.start()
    except ServerFailed as error:
        console.print(f"[red]Error:[/red] {error}; is the port taken? Choose others with --*-port.")
        raise typer.Exit(2) from error
    tenant = demo_story.management_api(tenant_url, client_id, client_secret)
    workforce = demo_story.workforce_api(workforce_runtime.org_url(demo_story.ORG_NAME), sso_token)
    story = demo_story.Story(
        tenant_url=tenant_url,
        workforce_url=workforce_url,
        sample_app_url=sample_url,
        tenant=tenant,
        workforce=workforce,
        doctor_credentials=Credentials(client_id=client_id, client_secret=client_secret),
    )
    failed = False
    try:
        with console.status("Seeding the vendor's tenant…"):
            _print_step(story.seed_tenant())
        sample_settings = settings.model_copy(
            update={
                "sample_app_client_id": story.cast.app["client_id"],
                "sample_app_client_secret": SecretStr(story.cast.app_secret),
            }
        )
        sample = BackgroundServer(
            "sample app", create_sample_app(sample_settings), "127.0.0.1", sample_app_port
        )
        sample.start()
        servers.append(sample)
        with console.status("Seeding the customer's IdP and the OIN integration…"):
            _print_step(story.seed_workforce())
        with console.status("The IT admin clicks Express Configure SSO…"):
            _print_step(story.click("Express Configure SSO"))
        with console.status("The vendor's developer runs expressway doctor…"):
            _print_step(story.doctor()[0])
        with console.status("expressway doctor --fix…"):
            _print_step(story.doctor(fix=True)[0])
        with console.status("Retrying after the fix…"):
            step = story.click("Express Configure SSO, again")
        _print_step(step)
        with console.status("The IT admin clicks Express Configure SCIM…"):
            _print_step(story.click("Express Configure SCIM", "scim"))
        with console.status("Provisioning the assigned employees…"):
            _print_step(story.provision())
        with console.status("An employee signs in…"):
            _print_step(story.employee_signs_in())
        with console.status("Universal Logout…"):
            _print_step(story.universal_logout())
    except demo_story.DemoError as error:
        failed = True
        console.print(f"[red]The story stopped:[/red] {error}")
    finally:
        tenant.close()
        workforce.close()
    console.print(f"Story told in {time.monotonic() - started:.1f} s.")
    table = Table(title="Expressway is running", show_header=False)
    table.add_row("Sample app", sample_url)
    table.add_row("Tenant", tenant_url)
    table.add_row("Workforce IdP", f"{workforce_url}/orgs/{demo_story.ORG_NAME}")
    table.add_row("IT admin (tenant)", f"{demo_story.ADMIN_EMAIL} / {story.cast.admin_password}")
    for employee in story.cast.employees:
        table.add_row(
            "Employee (workforce)",
            f"{employee['profile']['login']} / {story.cast.employee_password}",
        )
    if initialised.dashboard_admin_password:
        table.add_row(
            "Tenant dashboard",
            f"{tenant_url}/dashboard  {initialised.dashboard_admin_email} / "
            f"{initialised.dashboard_admin_password}  (shown this once)",
        )
    else:
        table.add_row(
            "Tenant dashboard",
            f"{tenant_url}/dashboard (its admin's password was shown at the first run)",
        )
    console_url = f"{workforce_url}/orgs/{demo_story.ORG_NAME}/admin"
    if org_initialised.admin_password:
        table.add_row(
            "Workforce admin console",
            f"{console_url}  {org_initialised.admin_login} / {org_initialised.admin_password}"
            "  (shown this once)",
        )
    else:
        table.add_row(
            "Workforce admin console",
            f"{console_url} (its super admin's password was shown at the first run)",
        )
    table.add_row("Data directory", str(settings.data_dir.resolve()))
    if serve and not failed:
        console.print(table)
        console.print(Panel("Press Ctrl-C to stop.", expand=False))
        with contextlib.suppress(KeyboardInterrupt):
            servers[0].wait()
    for server in reversed(servers):
        server.stop()
    if failed:
        raise typer.Exit(1)
