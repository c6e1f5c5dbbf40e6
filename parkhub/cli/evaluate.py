"""`parkhub evaluate`: the 亩均效益 evaluation of a park as its county computes it, printed and
exported as the county-style result table (xlsx: results, every input with its source and
revision, the rule applied)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from parkhub.canonical.timeutil import SHANGHAI, utcnow
from parkhub.errors import ParkhubError
from parkhub.policies.scoring import INDICATORS
from parkhub.reports.mu_average import Evaluation
from parkhub.reports.mu_export import evaluation_xlsx
from parkhub.reports.mu_inputs import M2_PER_MU

from .root import DEFAULT_CONFIG, ConfigOpt, console, fail, hub_of, print_json, table

GROUPS = {"above": "规上", "below": "规下", None: "—"}


def evaluate(
    year: Annotated[int | None, typer.Option(help="evaluation year (default: last year)")] = None,
    park: Annotated[str | None, typer.Option(help="one park id (default: every park)")] = None,
    rolling: Annotated[
        str | None,
        typer.Option(help="YYYY-MM: the 12 months to this period instead of a calendar year"),
    ] = None,
    county: Annotated[
        str | None, typer.Option(help="score by this county's rule (GB/T 2260 code)")
    ] = None,
    below: Annotated[
        str | None,
        typer.Option(help="below-scale firms' second indicator: tax_per_kwh, revenue_per_mu, none"),
    ] = None,
    xlsx: Annotated[
        Path | None,
        typer.Option(help="the workbook to write (default: <park>_<window>_亩均评价.xlsx)"),
    ] = None,
    no_xlsx: Annotated[bool, typer.Option("--no-xlsx", help="print only")] = False,
    report: Annotated[
        bool, typer.Option("--report", help="also store the park's annual report (ParkAnnual)")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="machine-readable, with all inputs")
    ] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """亩均效益评价: score every enterprise by its county's weights and benchmarks."""
    if below not in (None, "tax_per_kwh", "revenue_per_mu", "none"):
        fail(f"--below must be tax_per_kwh, revenue_per_mu or none, not {below!r}")
    chosen = year or utcnow().astimezone(SHANGHAI).year - 1
    with hub_of(config) as hub:
        parks = [park] if park else [p.id for p in hub.config.parks]
        try:
            done = [
                hub.evaluate(
                    p,
                    year=None if rolling else chosen,
                    rolling_to=rolling,
                    county=county,
                    below=below,
                )
                for p in parks
            ]
            if report and not rolling:
                for p in parks:
                    hub.build_annual_reports(chosen, park=p)
        except (ParkhubError, ValueError) as exc:
            fail(exc)
    if as_json:
        print_json([ev.as_dict() for ev in done])
    for ev in done:
        if not as_json:
            _show(ev)
        if not no_xlsx:
            target = _target(xlsx, ev, several=len(done) > 1)
            target.write_bytes(evaluation_xlsx(ev))
            if not as_json:
                console.print(f"已导出 exported: {target}")


def _target(path: Path | None, ev: Evaluation, *, several: bool) -> Path:
    if path is None:
        return Path(f"{ev.park_name}_{ev.window.label}_亩均评价.xlsx")
    return path.with_name(f"{path.stem}_{ev.park_id}{path.suffix}") if several else path


def _show(ev: Evaluation) -> None:
    rule = ev.rule
    console.print(
        f"[bold]{ev.park_name}[/] {ev.window.label} 亩均效益评价 — "
        f"{rule.county_name or rule.county} {rule.year} 规则 ({rule.source})"
    )
    if ev.note:
        console.print(f"[yellow]{ev.note}[/]")
    names = list(rule.above)
    columns = ["排名", "企业名称", "规模", "用地(亩)"]
    columns += [INDICATORS[n][0] for n in names] + ["总分", "分类"]
    t = table("评价结果 Results (规上 then 规下)", columns)
    order = {"above": 0, "below": 1, None: 2}
    for r in sorted(ev.results, key=lambda r: (order[r.group], r.rank or 0)):
        land = r.enterprise.land_m2.value
        t.add_row(
            str(r.rank or "—"),
            r.enterprise.name,
            GROUPS[r.group],
            _num(None if land is None else land / M2_PER_MU),
            *(_num(r.indicators[n]) for n in names),
            _num(r.total, 2),
            r.grade or "；".join(r.notes),
        )
    console.print(t)
    grades = ev.grades()
    p = ev.park
    console.print(
        f"分类 classes: A {grades['A']}, B {grades['B']}, C {grades['C']}, D {grades['D']}; "
        f"园区 亩均税收 {_num(p['tax_per_mu'])} 万元/亩, 亩均增加值 "
        f"{_num(p['value_added_per_mu'])} 万元/亩 (park land {_num(p['land_mu'])} 亩)"
    )


def _num(value: Any, digits: int = 4) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"
