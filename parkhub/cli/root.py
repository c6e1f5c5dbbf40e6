"""The typer root of `parkhub`, its command groups, and what every command shares: the --config
option, the consoles, opening the hub, and the way an error ends a command (exit 2)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import as_utc
from parkhub.config import HubConfig, load_config
from parkhub.errors import ParkhubError

if TYPE_CHECKING:
    from parkhub.hub import Hub

app = typer.Typer(
    help="parkhub: 小微企业园数据中枢 — enter park data once, report it everywhere.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
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
    typer.Option("--config", "-c", envvar="PARKHUB_CONFIG", help="parkhub.yaml to use"),
]
DEFAULT_CONFIG = Path("parkhub.yaml")
CONFIG_ERROR = "[red]配置错误 config error:[/] "
HostOpt = Annotated[str, typer.Option(help="address for the web app (push receivers, API)")]
PortOpt = Annotated[int, typer.Option(help="port for the web app")]


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def fail(exc: Exception | str, *, prefix: str = "[red]error:[/] ") -> NoReturn:
    """End the command with exit code 2, the reason on stderr."""
    err_console.print(f"{prefix}{exc}")
    raise typer.Exit(2) from None


def config_of(path: Path) -> HubConfig:
    try:
        return load_config(path)
    except ParkhubError as exc:
        fail(exc, prefix=CONFIG_ERROR)


def open_hub(path: Path) -> Hub:
    from parkhub.hub import Hub
    from parkhub.ingest.tuning import tune_gc

    config = config_of(path)
    try:
        hub = Hub.open(config)
    except ParkhubError as exc:
        fail(exc)
    tune_gc()  # what start-up loaded stays out of every collection from here on
    return hub


@contextmanager
def hub_of(path: Path) -> Iterator[Hub]:
    """The hub of parkhub.yaml at `path`, closed when the block ends."""
    hub = open_hub(path)
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


def table(title: str, columns: Iterable[str]) -> Table:
    t = Table(title=title)
    for col in columns:
        t.add_column(col)
    return t
