"""``expressway tenant reseal`` and ``expressway workforce reseal``: every sealed value of a
database moved to the current ``EXPRESSWAY_SECRET_KEY`` (:mod:`expressway.storage.resealing`),
with a progress bar, a table of what was found and an exit status a script can act on.

The storage layer is imported when the command runs (see :mod:`expressway.cli`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from expressway.config import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from expressway.storage.resealing import Resealed, SealedColumn

DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Count what would be resealed; change nothing.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON object, for scripts.")
]

#: Unreadable values named in the table's note; the JSON names them all.
_NAMED = 20


class _Runtime(Protocol):
    @property
    def engine(self) -> Engine: ...
    @property
    def sessions(self) -> Callable[[], Session]: ...


RuntimeT = TypeVar("RuntimeT", bound=_Runtime)


def command(
    system: str,
    runtime: Callable[[Settings], RuntimeT],
    columns: Callable[[RuntimeT], Sequence[SealedColumn[Any]]],
    console: Console,
) -> Callable[..., None]:
    """The ``reseal`` command of ``system``, whose runtime is made from the settings by
    ``runtime`` and names its sealed columns through ``columns``; neither is called before the
    command runs, so they can import the system's modules then."""

    def reseal(dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
        """Seal every stored secret again under the current EXPRESSWAY_SECRET_KEY: after a change
        of key, before the old one leaves EXPRESSWAY_SECRET_KEY_FALLBACKS (idempotent)."""
        made = runtime(load_settings())
        try:
            run(
                system,
                made.engine,
                made.sessions,
                columns(made),
                dry_run=dry_run,
                as_json=as_json,
                console=console,
            )
        finally:
            made.engine.dispose()

    return reseal


def run(
    system: str,
    engine: Engine,
    sessions: Callable[[], Session],
    columns: Sequence[SealedColumn[Any]],
    *,
    dry_run: bool,
    as_json: bool,
    console: Console,
) -> None:
    """Reseal ``system``'s database (``tenant`` or ``workforce``) and report; exits with 1 when
    a value opens with none of the keys given."""
    from expressway.storage import migrate
    from expressway.storage.resealing import reseal

    if not dry_run:
        # As serving would: the columns walked are those of the current schema.
        migrate.upgrade(engine, system)
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as progress,
        sessions() as session,
    ):
        task = progress.add_task("Reading sealed values", total=len(columns))
        found = reseal(
            session,
            columns,
            dry_run=dry_run,
            done=lambda kind: progress.update(task, advance=1, description=kind.kind),
        )
        if not dry_run:
            session.commit()
    unreadable = [name for kind in found for name in kind.unreadable]
    if as_json:
        typer.echo(json.dumps(_as_json(found, dry_run=dry_run)))
    else:
        _print(console, system, found, dry_run=dry_run)
    if unreadable:
        raise typer.Exit(1)


def _as_json(found: Sequence[Resealed], *, dry_run: bool) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "resealed": sum(kind.resealed for kind in found),
        "unreadable": sum(len(kind.unreadable) for kind in found),
        "kinds": [
            {
                "kind": kind.kind,
                "current": kind.current,
                "resealed": kind.resealed,
                "unreadable": kind.unreadable,
            }
            for kind in found
        ],
    }


def _print(console: Console, system: str, found: Sequence[Resealed], *, dry_run: bool) -> None:
    table = Table(title=f"Sealed values of the {system}'s database")
    table.add_column("values")
    table.add_column("under the current key", justify="right")
    table.add_column("to reseal" if dry_run else "resealed", justify="right")
    table.add_column("unreadable", justify="right")
    for kind in found:
        table.add_row(
            kind.kind,
            str(kind.current),
            str(kind.resealed),
            f"[red]{len(kind.unreadable)}[/red]" if kind.unreadable else "0",
        )
    console.print(table)
    resealed = sum(kind.resealed for kind in found)
    unreadable = [name for kind in found for name in kind.unreadable]
    if unreadable:
        console.print(
            f"[red]✗[/red] {len(unreadable)} sealed value(s) open with neither "
            "EXPRESSWAY_SECRET_KEY nor any of EXPRESSWAY_SECRET_KEY_FALLBACKS:"
        )
        for name in unreadable[:_NAMED]:
            console.print(f"  - {name}")
        if len(unreadable) > _NAMED:
            console.print(f"  … and {len(unreadable) - _NAMED} more (--json lists them all)")
        console.print(
            "Fix: if they were sealed under a key you still have, add it to "
            "EXPRESSWAY_SECRET_KEY_FALLBACKS and run this again. If not, they are lost and must "
            "be made again: a connection's or app instance's secret or SCIM token by setting it "
            "again (Express Configure does), a login or flow under way by starting it over; a "
            "lost signing key's row must be deleted, and `init` makes a new one (what it signed "
            "no longer verifies)."
        )
        if resealed and not dry_run:
            console.print(f"The other {resealed} value(s) were resealed.")
        return
    if dry_run:
        console.print(
            f"{resealed} value(s) would be resealed; every value opens with the keys given."
        )
    elif resealed:
        console.print(
            f"[green]✓[/green] {resealed} value(s) resealed under the current "
            "EXPRESSWAY_SECRET_KEY. Once every database the old key sealed values in has been "
            "resealed, remove it from EXPRESSWAY_SECRET_KEY_FALLBACKS."
        )
    else:
        console.print(
            "[green]✓[/green] Every sealed value is already under the current "
            "EXPRESSWAY_SECRET_KEY; nothing changed."
        )
