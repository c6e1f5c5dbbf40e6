"""人工填报 from the command line: a park's Excel template out, a filled workbook or CSV in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from parkhub.canonical.timeutil import previous_period
from parkhub.errors import ParkhubError
from parkhub.ingest.entry import template_filename

from .root import (
    DEFAULT_CONFIG,
    ConfigOpt,
    console,
    fail,
    hub_of,
    period_of,
    print_json,
    progress,
    setup_logging,
    table,
)

if TYPE_CHECKING:
    from parkhub.ingest import IngestResult


KINDS = ("enterprise_monthly", "enterprise_roster")


def entry_template(
    park: Annotated[str, typer.Option(help="park id")],
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: last month)")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="default: <park name>_<period>_<sheet>.xlsx"),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            help="enterprise_monthly (月度数据), enterprise_roster (企业名录) or "
            "enterprise_annual (年度数据: a year's figures for 亩均; --period YYYY-12)"
        ),
    ] = "enterprise_monthly",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Write the Excel entry template of a park, prefilled with its enterprises."""
    period = period_of(period) or previous_period()
    with hub_of(config, secrets=False) as hub:
        try:
            body = hub.entry_template(park, period, kind=kind)
            target = output or Path(template_filename(hub.config.park(park), period, kind))
        except (ParkhubError, ValueError) as exc:
            fail(exc)
    target.write_bytes(body)
    console.print(f"wrote {target}: fill it in Excel or WPS, then `parkhub entry import {target}`")


def entry_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv")],
    park: Annotated[
        str | None, typer.Option(help="park id (default: the template's, or the only park)")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="enterprise_monthly, enterprise_roster or enterprise_annual (default: detect)"
        ),
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="YYYY-MM, for a CSV without a period column")
    ] = None,
    move: Annotated[
        bool,
        typer.Option(
            "--move",
            help="企业迁入: take enterprises stored for another park into this one (audited)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Import a filled workbook or CSV: valid rows are stored, invalid rows are listed.

    A file naming an enterprise of another park is refused whole (exit 2) unless --move.
    """
    period = period_of(period)
    if kind is not None and kind not in (*KINDS, "auto"):
        fail(f"unknown kind {kind!r}: use {' or '.join(KINDS)}")
    setup_logging(printed=True)
    with hub_of(config) as hub, progress(f"导入 import {file.name}"):
        try:
            result = hub.import_entry(file, park, stream=kind, period=period, allow_move=move)
        except ParkhubError as exc:
            fail(exc)
    if as_json:
        print_json(result.summary())
    else:
        _show_import(file, result, result.problem_rows())
    raise typer.Exit(1 if result.errors else 0)


LEVELS = {
    "error": "错误 error",
    "warning": "提示 warning",
    "hold": "待审核 hold",
    "warn": "核实 check",
    "info": "提示 info",
}
PROBLEM_COLUMNS = (
    "级别 level",
    "工作表 sheet",
    "行 row",
    "列 column",
    "填写的值 value",
    "原因 reason",
)


def _show_import(file: Path, result: IngestResult, problems: list[dict[str, Any]]) -> None:
    if result.duplicate:
        console.print(f"{file}: 已导入过 (already imported, raw #{result.raw_id}): nothing changed")
    else:
        console.print(
            f"{file}: {result.new} new, {result.changed} changed, {result.unchanged} unchanged, "
            f"{len(result.errors)} row errors, {result.deliveries} deliveries queued"
            + (f", {result.held} held for review (待审核)" if result.held else "")
        )
    if not problems:
        return
    t = table(
        "需要修改的行 Rows to fix (fix them in the file and import it again)", PROBLEM_COLUMNS
    )
    for p in problems:
        t.add_row(
            LEVELS.get(p["level"], p["level"]),
            p["sheet"],
            str(p["row"] or ""),
            p["column"] or "",
            p["value"],
            f"{p['reason_zh']}\n{p['reason_en']}",
        )
    console.print(t)
