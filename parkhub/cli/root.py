"""The typer root of `parkhub`, its command groups, and what every command shares: the --config
option, the consoles, opening the hub (saying which database), logs in Beijing time, tables
that fit 80 columns, progress bars, and the way an error ends a command (exit 2)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
)
from rich.table import Table

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import SHANGHAI, as_utc
from parkhub.config import HubConfig, load_config
from parkhub.errors import ParkhubError
from parkhub.store import database_url

if TYPE_CHECKING:
    from parkhub.hub import Hub

app = typer.Typer(
    help="parkhub: 小微企业园数据中枢 — enter park data once, report it everywhere.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
inbox_app = typer.Typer(
    help="收件箱 Raw messages with problems: list them, dismiss the ones dealt with.",
    no_args_is_help=True,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"parkhub {version('parkhub')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="parkhub.yaml for the command (`parkhub -c FILE status` is "
            "`parkhub status -c FILE`)",
        ),
    ] = None,
) -> None:
    """parkhub: 小微企业园数据中枢 — enter park data once, report it everywhere."""
    if config is not None:  # every command's --config falls back to PARKHUB_CONFIG
        before = os.environ.get("PARKHUB_CONFIG")
        os.environ["PARKHUB_CONFIG"] = str(config)
        ctx.call_on_close(partial(_restore_env, "PARKHUB_CONFIG", before))


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


reports_app = typer.Typer(help="Period reports (园区月报).", no_args_is_help=True)
hj212_app = typer.Typer(
    help="HJ 212 tools for debugging a data logger on site.", no_args_is_help=True
)
entry_app = typer.Typer(
    help="人工填报 Operator data entry: Excel templates out, filled files in.",
    no_args_is_help=True,
)
user_app = typer.Typer(help="Console accounts (控制台账号).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar="PARKHUB_CONFIG",
        help="parkhub.yaml to use; relative paths in it are relative to its folder",
    ),
]
DEFAULT_CONFIG = Path("parkhub.yaml")
CONFIG_ERROR = "[red]配置错误 config error:[/] "
HostOpt = Annotated[str, typer.Option(help="address for the web app (push receivers, API)")]
PortOpt = Annotated[int, typer.Option(help="port for the web app")]


class BeijingFormatter(logging.Formatter):
    """Log lines stamped in Beijing time, with the zone, whatever the machine's zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        when = dt.datetime.fromtimestamp(record.created, SHANGHAI)
        return when.strftime(datefmt or "%Y-%m-%d %H:%M:%S%z")


PRINTED = ("parkhub.ingest", "parkhub.dispatch")
"""Loggers whose warnings (a rejected record, a failed delivery) a command prints itself."""


def setup_logging(verbose: bool = False, *, printed: bool = False) -> None:
    """Logs to stderr in Beijing time; APScheduler's own chatter (job added, run, executed) and
    Alembic's only at DEBUG: parkhub names its jobs in its own lines. `printed`: the command
    prints each rejected record and failed delivery itself, so their log warnings would say it
    twice."""
    handler = logging.StreamHandler()
    handler.setFormatter(BeijingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for chatty in ("apscheduler", "alembic"):  # job added / run; the migration context
        logging.getLogger(chatty).setLevel(logging.WARNING)
    for name in PRINTED:
        logging.getLogger(name).setLevel(logging.ERROR if printed else logging.NOTSET)


def fail(exc: Exception | str, *, prefix: str = "[red]error:[/] ") -> NoReturn:
    """End the command with exit code 2, the reason on stderr."""
    err_console.print(f"{prefix}{escape(str(exc))}", highlight=False)
    raise typer.Exit(2) from None


def config_of(path: Path, *, secrets: bool = True) -> HubConfig:
    """parkhub.yaml; `secrets=False` leaves the adapters' configs (and secrets) unchecked, for
    commands that only read."""
    try:
        return load_config(path, check_adapters=secrets)
    except ParkhubError as exc:
        fail(exc, prefix=CONFIG_ERROR)


def announce_database(url: str) -> None:
    """Say which database a command uses (stderr), and warn when it is about to be created."""
    if url.startswith("sqlite:///"):
        where = url.removeprefix("sqlite:///")
        if where and not where.startswith(":memory:") and not Path(where).exists():
            err_console.print(
                f"[yellow]新建数据库 creating a new database:[/] {Path(where).resolve()} "
                "[dim](is this the database you meant? `database_url` in parkhub.yaml is "
                "relative to the file's folder)[/]"
            )
            return
        err_console.print(f"[dim]数据库 database: {Path(where).resolve()}[/]")
    else:
        err_console.print(f"[dim]数据库 database: {url.split('@')[-1]}[/]")


def open_hub(path: Path, *, secrets: bool = True) -> Hub:
    from parkhub.hub import Hub
    from parkhub.ingest.tuning import tune_gc

    config = config_of(path, secrets=secrets)
    url = database_url(config.database_url)
    announce_database(url)
    try:
        hub = Hub.open(config, url=url)
    except ParkhubError as exc:
        fail(exc)
    tune_gc()  # what start-up loaded stays out of every collection from here on
    return hub


@contextmanager
def hub_of(
    path: Path, *, secrets: bool = True, platform: str | None = None, source: str | None = None
) -> Iterator[Hub]:
    """The hub of parkhub.yaml at `path`, closed when the block ends (`secrets=False`: for
    commands that only read, which need no platform's or vendor's secret). A `platform` or
    `source` the user typed must be one of the config's (exit 2 naming the known ones)."""
    if platform is not None or source is not None:
        cfg = config_of(path, secrets=secrets)
        try:
            cfg.platform(platform) if platform is not None else None
            cfg.source(source) if source is not None else None
        except ParkhubError as exc:
            fail(exc)
    hub = open_hub(path, secrets=secrets)
    try:
        yield hub
    finally:
        hub.close()


def when(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return as_utc(dt.datetime.fromisoformat(value))
    except ValueError:
        fail("use ISO 8601, e.g. 2026-11-01T08:00", prefix=f"[red]bad time {value!r}[/]: ")


def print_json(obj: Any) -> None:
    sys.stdout.write(jsonutil.dumps_str(obj) + "\n")


NARROW = 100
"""Below this many columns (80 in a terminal, or piped) tables drop their optional columns."""


def narrow() -> bool:
    return console.width < NARROW


def table(title: str, columns: Iterable[str], *, optional: Iterable[str] = ()) -> FitTable:
    """A table that stays readable at 80 columns and when piped: long cells fold rather than
    push columns off, and the `optional` columns are left out when the console is narrow
    (add_row with `row()` to drop their cells too)."""
    t = FitTable(title, set(optional) if narrow() else set())
    for col in columns:
        if col not in t.dropped:
            t.add_column(col, overflow="fold")
    return t


class FitTable(Table):
    """A rich Table that knows which columns it left out."""

    def __init__(self, title: str, dropped: set[str]) -> None:
        super().__init__(title=title, expand=False, pad_edge=False, title_justify="left")
        self.dropped = dropped

    def row(self, cells: dict[str, str], *, markup: Iterable[str] = ()) -> None:
        """Add a row by column name, without the columns the table dropped; cells are text
        (a `[source]` in a reason stays), but those named in `markup`."""
        keep = set(markup)
        self.add_row(
            *(v if k in keep else escape(v) for k, v in cells.items() if k not in self.dropped)
        )


class Bar:
    """One task of a progress display: `advance(n)`, `describe(text)`."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: float = 1) -> None:
        self._progress.advance(self._task, n)

    def describe(self, text: str) -> None:
        self._progress.update(self._task, description=text)


@contextmanager
def progress(what: str, total: int | None = None) -> Iterator[Bar]:
    """A progress bar on stderr while a command works: only in a terminal, and only after
    half a second (a quick command shows none); gone when done."""
    display = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    task = display.add_task(what, total=total)
    lock, done = threading.Lock(), threading.Event()

    def show() -> None:
        with lock:
            if not done.is_set():
                display.start()

    timer = threading.Timer(0.5, show)
    timer.daemon = True
    timer.start()
    try:
        yield Bar(display, task)
    finally:
        timer.cancel()
        with lock:
            done.set()
            display.stop()


def period_of(value: str | None) -> str | None:
    """A YYYY-MM period as typed, or exit 2 saying the form."""
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value + "-01")
    except ValueError:
        fail("use YYYY-MM, e.g. 2026-10", prefix=f"[red]bad period {value!r}[/]: ")
    if len(value) != 7:
        fail("use YYYY-MM, e.g. 2026-10", prefix=f"[red]bad period {value!r}[/]: ")
    return value
