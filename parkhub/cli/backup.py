"""`parkhub backup` and `parkhub restore`: the embedded SQLite database copied while parkhub runs
(SQLite's online backup API), and put back with parkhub stopped. PostgreSQL: pg_dump and
pg_restore (docs/operator-guide.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parkhub.store import backup_sqlite, database_url, restore_sqlite

from .root import DEFAULT_CONFIG, ConfigOpt, config_of, console


def backup(
    target: Annotated[Path, typer.Argument(help="the backup file to write (a new file)")],
    config: ConfigOpt = DEFAULT_CONFIG,
    overwrite: Annotated[bool, typer.Option(help="replace an existing file")] = False,
) -> None:
    """备份 Back up the SQLite database while parkhub runs (checked before it is named)."""
    url = database_url(config_of(config).database_url)
    result = backup_sqlite(url, target, overwrite=overwrite)
    console.print(f"backed up {result.source} -> {result.target} ({result.bytes:,} bytes, ok)")


def restore(
    source: Annotated[Path, typer.Argument(help="a file written by `parkhub backup`")],
    config: ConfigOpt = DEFAULT_CONFIG,
    yes: Annotated[bool, typer.Option("--yes", help="parkhub is stopped: go ahead")] = False,
) -> None:
    """还原 Put a backup back as the database (stop parkhub first: everything since is lost)."""
    url = database_url(config_of(config).database_url)
    if not yes:
        question = f"Replace the database at {url} with {source}? (parkhub must be stopped)"
        typer.confirm(question, abort=True)
    result = restore_sqlite(source, url)
    console.print(f"restored {result.source} -> {result.target} ({result.bytes:,} bytes)")
