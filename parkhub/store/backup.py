"""Backups of the embedded database: SQLite's online backup API, page by page while parkhub
runs (writers wait only for the few milliseconds a step takes), into a new file that is checked
(`PRAGMA integrity_check`) before it takes its name. PostgreSQL is backed up by its own tools
(pg_dump / pg_restore: docs/operator-guide.md)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from parkhub.errors import ConfigError

STEP_PAGES = 1024  # pages copied a step (4 MiB at SQLite's default page size)


@dataclass(frozen=True, slots=True)
class BackupResult:
    source: Path
    target: Path
    bytes: int
    pages: int


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL; a ConfigError for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigError(
            f"parkhub backup copies SQLite databases; back up {parsed.get_backend_name()} with "
            "its own tools (PostgreSQL: pg_dump -Fc, see docs/operator-guide.md)"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise ConfigError("an in-memory database has nothing to back up")
    return Path(parsed.database)


def _copy(source: Path, target: Path) -> int:
    """Copy `source` into `target` with the online backup API; the page count copied."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst, pages=STEP_PAGES, sleep=0.005)
        pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        problems = dst.execute("PRAGMA integrity_check").fetchall()
        if problems != [("ok",)]:
            raise ConfigError(f"the copy of {source} failed its integrity check: {problems[:5]}")
    finally:
        dst.close()
        src.close()
    return pages


def backup_sqlite(url: str, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Back up the SQLite database at `url` into the file `target`, while it is in use."""
    source = sqlite_path(url)
    if not source.is_file():
        raise ConfigError(f"数据库文件不存在 (no database file at {source})")
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} exists: name a new file (or pass --overwrite)")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        pages = _copy(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(source, target, target.stat().st_size, pages)


def restore_sqlite(backup: Path, url: str) -> BackupResult:
    """Put the backup `backup` back as the database at `url` (parkhub must be stopped): the
    backup API writes it into the database file, its WAL included, in one go."""
    target = sqlite_path(url)
    if not backup.is_file():
        raise ConfigError(f"备份文件不存在 (no backup file at {backup})")
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        if check.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
            raise ConfigError(f"{backup} fails its integrity check: not restored")
    finally:
        check.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    pages = _copy(backup, target)
    return BackupResult(backup, target, target.stat().st_size, pages)
