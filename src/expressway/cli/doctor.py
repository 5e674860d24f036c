"""``expressway doctor``: every Express Configuration prerequisite, checked before anyone clicks.

Exit status: 0 when no check fails, 1 when one does, 2 on bad input or an unreachable tenant.

The doctor is imported when the command runs (see :mod:`expressway.cli`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from expressway.doctor import CheckResult, Report

EXIT_FAILED = 1
EXIT_UNUSABLE = 2

#: A check's mark, by the value of its :class:`~expressway.doctor.Status`.
MARKS = {
    "pass": "[green]✓[/green]",
    "fail": "[red]✗[/red]",
    "warn": "[yellow]![/yellow]",
    "skip": "[dim]-[/dim]",
}


def _print_check(console: Console, check: CheckResult) -> None:
    from expressway.doctor import Status

    cause = f" [dim]{check.cause}[/dim]" if check.status is not Status.PASS else ""
    console.print(
        f"{MARKS[check.status]} {escape(check.title)}{cause}: {escape(check.detail)}",
        highlight=False,
    )
    if check.remediation:
        console.print(f"    [bold]→[/bold] {escape(check.remediation)}", highlight=False)


def _print_report(console: Console, report: Report, fixed: bool) -> None:
    from expressway.doctor import Status

    if fixed:
        applied = [fix for fix in report.fixes if fix.applied]
        if not applied:
            console.print("[green]Nothing to fix: no change made.[/green]")
        for fix in report.fixes:
            mark = "[green]+[/green]" if fix.applied else "[yellow]·[/yellow]"
            console.print(f"{mark} {escape(fix.check)}: {escape(fix.change)}", highlight=False)
        console.print()
    for check in report.checks:
        _print_check(console, check)
    console.print()
    summary = ", ".join(
        f"{report.count(status)} {label}"
        for status, label in (
            (Status.PASS, "passed"),
            (Status.FAIL, "failed"),
            (Status.WARN, "warned"),
            (Status.SKIP, "skipped"),
        )
    )
    colour = "green" if report.ok else "red"
    verdict = "Ready for Express Configuration" if report.ok else "Not ready"
    console.print(f"[bold {colour}]{verdict}[/bold {colour}] ({summary})")


def doctor(
    app: Annotated[str, typer.Option("--app", help="The SaaS application: client id or name.")],
    domain: Annotated[
        str | None,
        typer.Option(
            help="The tenant's domain (https; http for localhost).",
            envvar="EXPRESSWAY_DOCTOR_DOMAIN",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="The tenant's base URL (http only for localhost and 127.0.0.1).",
            envvar="EXPRESSWAY_DOCTOR_URL",
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="A Management API client's id.", envvar="EXPRESSWAY_DOCTOR_CLIENT_ID"),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            help="Its secret; prefer the environment variable, out of shell history.",
            envvar="EXPRESSWAY_DOCTOR_CLIENT_SECRET",
            show_envvar=True,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="A Management API access token, instead of a client.",
            envvar="EXPRESSWAY_DOCTOR_TOKEN",
            show_envvar=True,
        ),
    ] = None,
    oin_client: Annotated[
        str | None,
        typer.Option(help="The OIN client (default: the one the app's configuration names)."),
    ] = None,
    organization: Annotated[
        str | None,
        typer.Option(help="The customer's organization: id or name (default: the only one)."),
    ] = None,
    admin: Annotated[
        str | None,
        typer.Option(help="The customer's admin: user id or e-mail (default: the only member)."),
    ] = None,
    pem: Annotated[
        Path | None,
        typer.Option(
            help="The public key the OIN Wizard generated, to compare with the active one."
        ),
    ] = None,
    workforce_url: Annotated[
        str | None,
        typer.Option(help="The workforce IdP's base URL, whose callback the OIN client needs."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document, for scripts.")
    ] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Make what is missing (idempotent, never deletes).")
    ] = False,
) -> None:
    """Check every Express Configuration prerequisite of a tenant through its Management API."""
    from expressway.doctor import (
        BadInput,
        Credentials,
        Inputs,
        TenantUnavailable,
        examine,
        read_pem,
        tenant_url,
    )
    from expressway.doctor.inputs import base_url

    # Soft wrap: one check is one line, for a terminal and for grep alike.
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False)
    try:
        inputs = Inputs(
            tenant_url=tenant_url(domain=domain, url=url),
            credentials=Credentials(client_id=client_id, client_secret=client_secret, token=token),
            app=app,
            oin_client=oin_client,
            organization=organization,
            admin=admin,
            pem=read_pem(pem) if pem is not None else None,
            pem_source=str(pem) if pem is not None else None,
            workforce_url=(
                base_url(workforce_url, "--workforce-url") if workforce_url is not None else None
            ),
        )
        if as_json:
            report = examine(inputs, fix=fix)
        else:
            with errors.status("Connecting") as status:
                report = examine(
                    inputs, fix=fix, progress=lambda step: status.update(escape(step) + "…")
                )
    except (BadInput, TenantUnavailable) as exc:
        errors.print(f"[red]doctor:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_UNUSABLE) from None
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print_report(console, report, fixed=fix)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
