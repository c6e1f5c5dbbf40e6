"""The county-style result table of a 亩均 evaluation as a workbook: the results (评价结果),
every input with its source and revision (数据来源), and the rule applied (评价规则)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from parkhub.policies.scoring import INDICATORS

from .mu_average import Evaluation
from .mu_inputs import M2_PER_MU
from .mu_scoring import WAN

GROUPS = {"above": "规上", "below": "规下", None: "未评价"}
FIGURES = (
    ("tax_yuan", "税收(万元)", WAN),
    ("value_added_yuan", "工业增加值(万元)", WAN),
    ("revenue_yuan", "主营业务收入(万元)", WAN),
    ("energy_tce", "综合能耗(吨标准煤)", 1.0),
    ("emissions_kg", "主要污染物排放量(吨)", 1000.0),
    ("electricity_kwh", "用电量(万千瓦时)", WAN),
    ("employees", "年平均职工人数(人)", 1.0),
    ("rnd_yuan", "R&D经费支出(万元)", WAN),
)
"""Input -> its column header and the divisor from canonical units to the header's."""


def _indicators(ev: Evaluation) -> list[str]:
    above: list[str] = list(ev.rule.above)
    below = [n for n in (ev.rule.below_items(ev.below) if ev.rule.below else {}) if n not in above]
    return above + below


def result_rows(ev: Evaluation) -> tuple[list[str], list[list[Any]]]:
    """The result table: header and rows, ranked within 规上 then 规下 (unscored last)."""
    names = _indicators(ev)
    header = ["序号", "企业名称", "统一社会信用代码", "规模", "用地面积(亩)"]
    header += [label for _, label, _ in FIGURES]
    header += [f"{INDICATORS[n][0]}({INDICATORS[n][1]})" for n in names]
    header += [f"{INDICATORS[n][0]}得分" for n in names]
    header += ["总分", "排名", "分类", "说明"]
    order = {"above": 0, "below": 1, None: 2}
    ranked = sorted(ev.results, key=lambda r: (order[r.group], r.rank or 0))
    rows = []
    for index, r in enumerate(ranked, start=1):
        e = r.enterprise
        land = e.land_m2.value
        row: list[Any] = [index, e.name, e.credit_code, GROUPS[r.group]]
        row.append(None if land is None else round(land / M2_PER_MU, 4))
        for name, _, divisor in FIGURES:
            value = e.figures[name].value
            row.append(None if value is None else round(value / divisor, 4))
        row += [_round(r.indicators[n]) for n in names]
        row += [_round(r.items.get(n)) for n in names]
        row += [_round(r.total, 2), r.rank, r.grade or "", "；".join(r.notes)]
        rows.append(row)
    return header, rows


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def evaluation_xlsx(ev: Evaluation) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "评价结果"
    title = f"{ev.park_name} {ev.window.label} 亩均效益综合评价结果"
    header, rows = result_rows(ev)
    _sheet(ws, title, header, rows)
    _sheet(wb.create_sheet("数据来源"), "评价数据及来源（记录、版本、来源）", *_input_rows(ev))
    _sheet(wb.create_sheet("评价规则"), "评价规则", *_rule_rows(ev))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet(ws: Any, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(header))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        ws.append(list(row))
    for index, name in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(name) * 2))
    ws.freeze_panes = "C3"


def _input_rows(ev: Evaluation) -> tuple[list[str], list[list[Any]]]:
    header = ["统一社会信用代码", "企业名称", "数据项", "数值", "来源", "依据（记录#键 版本 来源）"]
    rows: list[list[Any]] = []
    for e in ev.enterprises:
        inputs = [("用地面积(平方米)", e.land_m2)]
        inputs += [(label, e.figures[name]) for name, label, _ in FIGURES]
        for label, i in inputs:
            rows.append([e.credit_code, e.name, label, i.value, i.source, "\n".join(i.evidence)])
    return header, rows


def _rule_rows(ev: Evaluation) -> tuple[list[str], list[list[Any]]]:
    rule = ev.rule
    header = ["项目", "指标", "权重", "基准值", "单位", "封顶分"]
    rows: list[list[Any]] = [
        ["区县", f"{rule.county_name} ({rule.county})", None, None, None, None],
        ["评价年度", rule.year, None, None, None, None],
        ["评价期间", ev.window.label, None, None, None, None],
        ["规则来源", rule.source, None, None, None, None],
    ]
    if ev.note:
        rows.append(["说明", ev.note, None, None, None, None])
    below = rule.below_items(ev.below) if rule.below else {}
    for group, items in (("规上企业", rule.above), ("规下企业", below)):
        for name, item in items.items():
            label, unit = INDICATORS[name]
            rows.append([group, label, item.weight, item.benchmark, unit, item.cap])
    c = rule.classes
    how = "得分不低于" if c.mode == "score" else "按排名比例"
    rows.append(["分类", f"{how} A {c.a} / B {c.b} / C {c.c}，其余为 D", None, None, None, None])
    return header, rows
