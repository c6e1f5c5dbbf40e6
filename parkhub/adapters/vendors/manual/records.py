"""The rows of one entry file into records: each row validated on its own, one EntryError per
bad cell, warnings (EntryWarning) for what was imported but should be looked at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from parkhub.adapters.vendors.base import Parsed
from parkhub.canonical import Enterprise, EnterpriseAnnual, EnterpriseMonthly, Record
from parkhub.canonical.units import exact_limit
from parkhub.errors import InputWarning

from .columns import ROSTER
from .headers import SheetLayout
from .problems import CellProblem, EntryError, row_ref
from .report import split_reason
from .rows import CellValue, Row
from .units import DECIMALS
from .values import (
    is_blank,
    parse_count,
    parse_credit_code,
    parse_date,
    parse_industry,
    parse_number,
    parse_period,
    parse_status,
    parse_text,
    parse_year,
    parse_yes_no,
)

MONTHLY_VALUES = (
    "output_value_yuan",
    "revenue_yuan",
    "tax_yuan",
    "profit_yuan",
    "rnd_yuan",
    "employees",
    "electricity_kwh",
    "energy_tce",
    "value_added_yuan",
    "emissions_kg",
)
ANNUAL_VALUES = (
    "value_added_yuan",
    "tax_yuan",
    "revenue_yuan",
    "output_value_yuan",
    "energy_tce",
    "emissions_kg",
    "electricity_kwh",
    "employees",
    "rnd_yuan",
)


class EntryWarning(EntryError, InputWarning):
    """Something in an entry file the operator should read, though the row was imported (or
    was skipped on purpose): a merged cell, a period that differs from the template's."""


class Builder(Protocol):
    """`VendorAdapter.build`."""

    def __call__(
        self, model: type[Record], ref: str, data: dict[str, Any], *, field_names: dict[str, str]
    ) -> list[Parsed]: ...


@dataclass
class FileRows:
    """What one file's parse remembers across its rows and sheets, and how a row is read."""

    source: str
    build: Builder
    kind: str
    period: str | None
    epoch: Any = None
    first_seen: dict[str, str] = field(default_factory=dict)

    def monthly_row(self, row: Row, layout: SheetLayout, out: list[Parsed]) -> bool:
        """Add the row's record or errors to `out`; False if an enterprise's row has no
        figures."""
        parse = lambda v: parse_period(v, epoch=self.epoch)  # noqa: E731
        when = ("period", "统计期间", parse, self.period)
        return self._figures_row(row, layout, out, MONTHLY_VALUES, when, EnterpriseMonthly)

    def annual_row(self, row: Row, layout: SheetLayout, out: list[Parsed]) -> bool:
        """A year's figures (the 亩均 evaluation's): as `monthly_row`, keyed by year."""
        year = int(self.period[:4]) if self.period else None
        when = ("year", "评价年度", parse_year, year)
        return self._figures_row(row, layout, out, ANNUAL_VALUES, when, EnterpriseAnnual)

    def _figures_row(
        self,
        row: Row,
        layout: SheetLayout,
        out: list[Parsed],
        names: tuple[str, ...],
        when: tuple[str, str, Callable[[Any], Any], Any],
        model: type[Record],
    ) -> bool:
        problems: list[EntryError] = []
        data: dict[str, Any] = {}
        filled = False
        for name in names:
            cell = row.cells.get(name)
            if cell is None:
                continue
            if not is_blank(cell.value) or cell.formula is not None:
                filled = True
            number = self._quantity(row, cell, problems, out)
            if number is not None:
                data[name] = number
        if not filled:  # an enterprise nobody filled in yet (or an empty template row)
            return is_blank(row.value("credit_code")) and is_blank(row.value("name"))
        key_field, label, parse, template = when
        check = self._value(row, "credit_code", parse_credit_code, problems, out)
        period = self._value(row, key_field, parse, problems, out)
        self._required(row, layout, "credit_code", check, problems)
        if period is None and not _has_problem(problems, layout, key_field):
            if template is None:
                self._required(row, layout, key_field, None, problems)
            else:
                period = template
        if problems:
            out.extend(problems)
            return True
        assert check is not None and period is not None
        if template and period != template:
            problem = CellProblem(
                f"{label} {period} 与模板的{label} {template} 不同，按 {period} 导入",
                f"{key_field} {period} differs from the template's {template}; "
                f"imported as {period}",
            )
            out.append(self.cell_error(row, row.cells[key_field], problem, kind=EntryWarning))
        if self._duplicate(f"{check.code}|{period}", row, out):
            return True
        if not check.ok and check.warning:
            problem = CellProblem(*split_reason(check.warning))
            out.append(self.cell_error(row, row.cells["credit_code"], problem, kind=EntryWarning))
        data.update({"credit_code": check.code, key_field: period})
        ref = row_ref(row.sheet, row.number)
        out += self.build(model, ref, data, field_names=layout.field_names())
        return True

    def roster_row(self, row: Row, layout: SheetLayout, out: list[Parsed]) -> bool:
        """Add the row's record or errors to `out`."""
        problems: list[EntryError] = []
        epoch = self.epoch
        check = self._value(row, "credit_code", parse_credit_code, problems, out)
        name = self._value(row, "name", parse_text, problems, out)
        self._required(row, layout, "credit_code", check, problems)
        self._required(row, layout, "name", name, problems)
        data: dict[str, Any] = {"name": name}
        parsers: dict[str, Callable[[Any], Any]] = {
            "industry_code": parse_industry,
            "above_scale": parse_yes_no,
            "entered_on": lambda v: parse_date(v, epoch=epoch),
            "left_on": lambda v: parse_date(v, epoch=epoch),
            "status": parse_status,
            "contact": parse_text,
        }
        for field_name, parser in parsers.items():
            value = self._value(row, field_name, parser, problems, out)
            if value is not None:
                data[field_name] = value
        for field_name in ("floor_area_m2", "land_area_m2"):
            cell = row.cells.get(field_name)
            if cell is not None:
                number = self._quantity(row, cell, problems, out)
                if number is not None:
                    data[field_name] = number
        self._check_leaving(row, data, problems)
        if problems:
            out.extend(problems)
            return True
        assert check is not None
        if self._duplicate(check.code, row, out):
            return True
        data["credit_code"] = check.code
        ref = row_ref(row.sheet, row.number)
        out += self.build(Enterprise, ref, data, field_names=layout.field_names())
        return True

    def _check_leaving(self, row: Row, data: dict[str, Any], problems: list[EntryError]) -> None:
        """A leaving date: the status is 'left' (if not given), after the entering date."""
        entered, left = data.get("entered_on"), data.get("left_on")
        if left is None:
            return
        if data.get("status") == "active":
            problem = CellProblem(
                "状态为“在园”却填写了迁出日期：请改为“已迁出”或删除迁出日期",
                "status is 在园 (active) but a leaving date is given",
            )
            problems.append(self.cell_error(row, row.cells["status"], problem))
        data.setdefault("status", "left")
        if entered is not None and left < entered:
            problem = CellProblem(
                f"迁出日期 {left} 早于入园日期 {entered}",
                f"left on {left}, before entering on {entered}",
            )
            problems.append(self.cell_error(row, row.cells["left_on"], problem))

    def _value(
        self,
        row: Row,
        field_name: str,
        parser: Callable[[Any], Any],
        problems: list[EntryError],
        out: list[Parsed],
    ) -> Any:
        cell = row.cells.get(field_name)
        if cell is None:
            return None
        if cell.formula is not None and is_blank(cell.value):
            problem = CellProblem(
                f"公式 {cell.formula} 没有计算结果：请用 Excel 或 WPS 打开此文件、保存后再导入",
                f"the formula {cell.formula} has no cached value: open the file in Excel or "
                "WPS, save it, and import it again",
            )
            problems.append(self.cell_error(row, cell, problem, value=cell.formula))
            return None
        if cell.merged_from is not None and is_blank(cell.value):
            problem = CellProblem(
                f"合并单元格（从第{cell.merged_from}行开始），本行按空白处理；请取消合并并逐行填写",
                f"merged cell (from row {cell.merged_from}): blank in this row; unmerge it and "
                "fill every row",
            )
            out.append(self.cell_error(row, cell, problem, kind=EntryWarning))
        try:
            return parser(cell.value)
        except CellProblem as problem:
            problems.append(self.cell_error(row, cell, problem))
            return None

    def _quantity(
        self, row: Row, cell: CellValue, problems: list[EntryError], out: list[Parsed]
    ) -> float | int | None:
        bound = cell.bound
        col = bound.column
        parse: Callable[..., float | int | None] = (
            parse_count if col.kind == "count" else parse_number
        )
        number: float | int | None = self._value(
            row, col.field, lambda v: parse(v, unit=bound.unit), problems, out
        )
        if number is None:
            return None
        if col.kind in ("amount", "count") and number < 0:
            problem = CellProblem(
                f"{col.label}不能为负数，填的是 {number:g}",
                f"{col.field} must not be negative, got {number:g}",
            )
            problems.append(self.cell_error(row, cell, problem))
            return None
        assert col.quantity is not None
        decimals = DECIMALS[col.quantity]
        converted = round(number * bound.factor, decimals)
        limit = exact_limit(decimals)
        if not abs(converted) < limit:
            shown = f"{limit / bound.factor:,.0f}"
            problem = CellProblem(
                f"{col.label}数值过大（应小于 {shown}{bound.unit or ''}），超出能精确保存的范围",
                f"{col.field} is too large to be kept exactly: must be below {shown} "
                f"{bound.unit or ''}".rstrip(),
            )
            problems.append(self.cell_error(row, cell, problem))
            return None
        return int(converted) if col.kind == "count" else converted

    def _required(
        self,
        row: Row,
        layout: SheetLayout,
        field_name: str,
        value: Any,
        problems: list[EntryError],
    ) -> None:
        if value is not None or _has_problem(problems, layout, field_name):
            return
        bound = layout.columns.get(field_name)
        if bound is None:
            return
        problem = CellProblem(f"“{bound.header}”必须填写", f"{field_name} is required")
        problems.append(self.cell_error(row, row.cells[field_name], problem))

    def _duplicate(self, key: str, row: Row, out: list[Parsed]) -> bool:
        """A second row for the same enterprise (and period) is an error; the first stands."""
        first = self.first_seen.setdefault(key, row_ref(row.sheet, row.number))
        if first == row_ref(row.sheet, row.number):
            return False
        what = ("同一企业同一期间", "enterprise and period")
        if self.kind == ROSTER:
            what = ("同一企业", "enterprise")
        problem = CellProblem(
            f"与{first}重复（{what[0]}只能填一行），本行未导入",
            f"duplicates {first} (one row per {what[1]}); not imported",
        )
        out.append(self.cell_error(row, row.cells["credit_code"], problem))
        return True

    def cell_error(
        self,
        row: Row,
        cell: CellValue,
        problem: CellProblem,
        *,
        value: Any = None,
        kind: type[EntryError] = EntryError,
    ) -> EntryError:
        return kind(
            self.source,
            row.sheet,
            row.number,
            cell.bound.header,
            cell.value if value is None else value,
            problem.zh,
            problem.en,
            cell=cell.ref,
        )


def _has_problem(problems: list[EntryError], layout: SheetLayout, field_name: str) -> bool:
    bound = layout.columns.get(field_name)
    return bound is not None and any(p.column == bound.header for p in problems)
