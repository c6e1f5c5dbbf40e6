"""Operator data entry (人工填报): .xlsx workbooks and CSV files filled in by park staff.

Streams: `enterprise_monthly` (企业月度经营数据) and `enterprise_roster` (入园企业名录); any
other stream name means "detect" (from the template's hidden metadata sheet, the sheet names or
the headers). The file formats, the columns and the value parsing live in `importer`,
shared with the template writer (`template`).

Every row is validated on its own: a valid row becomes a record, an invalid row becomes one
EntryError per bad cell, naming sheet, row, column and value in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import ParseResult, RawMessage, VendorAdapter
from parkhub.adapters.vendors.manual.importer import (
    COLUMNS,
    DECIMALS,
    INSTRUCTIONS_SHEET,
    KIND_LABELS,
    KINDS,
    MONTHLY,
    ROSTER,
    TEMPLATE_VERSION,
    CellProblem,
    CellValue,
    EntryError,
    EntryFile,
    EntryFileError,
    Row,
    SheetLayout,
    detect_kind,
    is_blank,
    is_total_row,
    locate_header,
    parse_count,
    parse_credit_code,
    parse_date,
    parse_industry,
    parse_number,
    parse_period,
    parse_status,
    parse_text,
    parse_yes_no,
    read_file,
    read_rows,
    row_ref,
    split_reason,
)
from parkhub.canonical import Enterprise, EnterpriseMonthly

MONTHLY_VALUES = (
    "output_value_yuan",
    "revenue_yuan",
    "tax_yuan",
    "profit_yuan",
    "rnd_yuan",
    "employees",
    "electricity_kwh",
    "energy_tce",
)
_LIST_ROWS = 20  # rows named in a summary warning


class ManualConfig(AdapterConfig):
    """Nothing is needed to read operator files; the limits are here to be tuned."""

    max_rows: int = Field(
        50_000, ge=1, le=1_000_000, description="rows per file; a larger file is refused"
    )


@dataclass
class _FileState:
    """What one file's parse remembers across rows and sheets."""

    kind: str
    period: str | None
    epoch: Any = None
    first_seen: dict[str, str] = field(default_factory=dict)


class ManualAdapter(VendorAdapter[ManualConfig]):
    """Reads operator workbooks (.xlsx) and CSV exports into enterprise and monthly records."""

    name: ClassVar[str] = "manual"
    config_model: ClassVar[type[ManualConfig]] = ManualConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"file"})

    # -- file -------------------------------------------------------------------------------

    def parse(self, raw: RawMessage, result: ParseResult) -> None:
        filename = str(raw.meta.get("filename") or "") or None
        where = filename or "文件"
        try:
            entry = read_file(raw.body, filename=filename)
        except EntryFileError as exc:
            raise self._error(where, None, None, None, exc) from None
        kind = self._kind(raw.stream, entry, where)
        self._check_metadata(entry, where, result)
        total = sum(len(s.rows) for s in entry.sheets)
        if total > self.config.max_rows:
            raise self._error(
                where,
                None,
                None,
                total,
                CellProblem(
                    f"文件行数过多（{total}行，上限{self.config.max_rows}行），请分成几个文件导入",
                    f"too many rows ({total}; limit {self.config.max_rows}): split the file",
                ),
            )
        state = _FileState(kind, entry.metadata.get("period") or _meta_period(raw))
        found = False
        for sheet in entry.sheets:
            layout = locate_header(sheet, kind)
            if layout is None:
                if sheet.rows and sheet.name != INSTRUCTIONS_SHEET:
                    result.warnings.append(
                        self._error(
                            sheet.name,
                            None,
                            None,
                            None,
                            CellProblem(
                                "该工作表中没有找到表头，已跳过",
                                "no header row in this sheet; skipped",
                            ),
                        )
                    )
                continue
            found = True
            state.epoch = sheet.epoch
            self._sheet(layout, read_rows(sheet, layout), state, result)
        if not found:
            raise self._error(
                where,
                None,
                None,
                None,
                CellProblem(
                    "找不到表头：需要一行列名，包括“统一社会信用代码”和至少一个数据列"
                    f"（{KIND_LABELS[kind]}）；请使用园区下发的模板",
                    "no header row found: a row of column names with 统一社会信用代码 (credit "
                    f"code) and at least one data column ({kind}); use the park's template",
                ),
            )

    def _kind(self, stream: str, entry: EntryFile, where: str) -> str:
        meta_kind = entry.metadata.get("kind")
        if stream in KINDS:
            if meta_kind in KINDS and meta_kind != stream:
                raise self._error(
                    where,
                    None,
                    None,
                    meta_kind,
                    CellProblem(
                        f"这是“{KIND_LABELS[meta_kind]}”模板，不能作为“{KIND_LABELS[stream]}”导入",
                        f"this is a {meta_kind} template, not {stream}",
                    ),
                )
            return stream
        detected = detect_kind(entry)
        if detected is None:
            raise self._error(
                where,
                None,
                None,
                None,
                CellProblem(
                    "无法判断文件内容是月度数据还是企业名录：请使用园区下发的模板",
                    "cannot tell whether the file holds monthly data or the enterprise roster: "
                    "use the park's template or name the stream",
                ),
            )
        return detected

    def _check_metadata(self, entry: EntryFile, where: str, result: ParseResult) -> None:
        meta = entry.metadata
        park = meta.get("park_id")
        if park and park != self.source.park_id:
            raise self._error(
                where,
                None,
                None,
                park,
                CellProblem(
                    f"这是园区“{meta.get('park_name', park)}”（{park}）的模板，"
                    f"不能导入到园区 {self.source.park_id}",
                    f"this template belongs to park {park}, not {self.source.park_id}",
                ),
            )
        version = meta.get("template_version")
        if version and version.isdigit() and int(version) > int(TEMPLATE_VERSION):
            result.warnings.append(
                self._error(
                    where,
                    None,
                    None,
                    version,
                    CellProblem(
                        f"模板版本 {version} 比本系统新（{TEMPLATE_VERSION}），请升级 parkhub",
                        f"template version {version} is newer than {TEMPLATE_VERSION}; "
                        "upgrade parkhub",
                    ),
                )
            )

    # -- sheets -----------------------------------------------------------------------------

    def _sheet(
        self, layout: SheetLayout, rows: Iterable[Row], state: _FileState, result: ParseResult
    ) -> None:
        for header, value, note in layout.notes:
            result.warnings.append(
                self._error(layout.sheet, layout.header_row, header, value, note)
            )
        if layout.problems:
            for header, value, problem in layout.problems:
                result.errors.append(
                    self._error(layout.sheet, layout.header_row, header, value, problem)
                )
            return
        missing = [
            c
            for c in COLUMNS[state.kind]
            if c.required
            and c.field not in layout.columns
            and not (c.field == "period" and state.period)
        ]
        if missing:
            for col in missing:
                result.errors.append(
                    self._error(
                        layout.sheet,
                        layout.header_row,
                        col.header,
                        None,
                        CellProblem(
                            f"缺少必填列“{col.header}”",
                            f"the required column {col.header} is missing",
                        ),
                    )
                )
            return
        unfilled: list[int] = []
        totals: list[int] = []
        row_fn = self._monthly_row if state.kind == MONTHLY else self._roster_row
        for row in rows:
            if is_total_row(row):
                totals.append(row.number)
                continue
            if not row_fn(row, layout, state, result):
                unfilled.append(row.number)
        if totals:
            result.warnings.append(
                self._error(
                    layout.sheet,
                    totals[0],
                    None,
                    None,
                    CellProblem("合计行不导入，已跳过", "a totals row is not data; skipped"),
                )
            )
        if unfilled:
            shown = [str(n) for n in unfilled[:_LIST_ROWS]]
            more = len(unfilled) > _LIST_ROWS
            result.warnings.append(
                self._error(
                    layout.sheet,
                    None,
                    None,
                    None,
                    CellProblem(
                        f"{len(unfilled)}行只有企业信息、没有填写数据，已跳过："
                        f"第{'、'.join(shown)}行{'等' if more else ''}",
                        f"{len(unfilled)} rows have no figures and were skipped: rows "
                        f"{', '.join(shown)}{'...' if more else ''}",
                    ),
                )
            )

    # -- rows -------------------------------------------------------------------------------

    def _monthly_row(
        self, row: Row, layout: SheetLayout, state: _FileState, result: ParseResult
    ) -> bool:
        """Add the row's record or errors; False if an enterprise's row has no figures."""
        problems: list[EntryError] = []
        data: dict[str, Any] = {}
        filled = False
        for name in MONTHLY_VALUES:
            cell = row.cells.get(name)
            if cell is None:
                continue
            if not is_blank(cell.value) or cell.formula is not None:
                filled = True
            number = self._quantity(row, cell, problems, result)
            if number is not None:
                data[name] = number
        if not filled:  # an enterprise nobody filled in yet (or an empty template row)
            return is_blank(row.value("credit_code")) and is_blank(row.value("name"))
        check = self._value(row, "credit_code", parse_credit_code, problems, result)
        period = self._value(
            row, "period", lambda v: parse_period(v, epoch=state.epoch), problems, result
        )
        self._required(row, layout, "credit_code", check, problems)
        if period is None and not _has_problem(problems, layout, "period"):
            if state.period is None:
                self._required(row, layout, "period", None, problems)
            else:
                period = state.period
        if problems:
            result.errors.extend(problems)
            return True
        assert check is not None and period is not None
        if state.period and period != state.period:
            result.warnings.append(
                self._cell_error(
                    row,
                    row.cells["period"],
                    CellProblem(
                        f"统计期间 {period} 与模板的期间 {state.period} 不同，按 {period} 导入",
                        f"period {period} differs from the template's {state.period}; "
                        f"imported as {period}",
                    ),
                )
            )
        ref = row_ref(row.sheet, row.number)
        if self._duplicate(f"{check.code}|{period}", row, state, result):
            return True
        if not check.ok and check.warning:
            result.warnings.append(
                self._cell_error(
                    row, row.cells["credit_code"], CellProblem(*split_reason(check.warning))
                )
            )
        data.update(credit_code=check.code, period=period)
        self.build(EnterpriseMonthly, ref, data, result, field_names=layout.field_names())
        return True

    def _roster_row(
        self, row: Row, layout: SheetLayout, state: _FileState, result: ParseResult
    ) -> bool:
        problems: list[EntryError] = []
        epoch = state.epoch
        check = self._value(row, "credit_code", parse_credit_code, problems, result)
        name = self._value(row, "name", parse_text, problems, result)
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
            value = self._value(row, field_name, parser, problems, result)
            if value is not None:
                data[field_name] = value
        for field_name in ("floor_area_m2", "land_area_m2"):
            cell = row.cells.get(field_name)
            if cell is not None:
                number = self._quantity(row, cell, problems, result)
                if number is not None:
                    data[field_name] = number
        entered, left = data.get("entered_on"), data.get("left_on")
        if left is not None:
            if data.get("status") == "active":
                problems.append(
                    self._cell_error(
                        row,
                        row.cells["status"],
                        CellProblem(
                            "状态为“在园”却填写了迁出日期：请改为“已迁出”或删除迁出日期",
                            "status is 在园 (active) but a leaving date is given",
                        ),
                    )
                )
            data.setdefault("status", "left")
            if entered is not None and left < entered:
                problems.append(
                    self._cell_error(
                        row,
                        row.cells["left_on"],
                        CellProblem(
                            f"迁出日期 {left} 早于入园日期 {entered}",
                            f"left on {left}, before entering on {entered}",
                        ),
                    )
                )
        if problems:
            result.errors.extend(problems)
            return True
        assert check is not None
        if self._duplicate(check.code, row, state, result):
            return True
        data["credit_code"] = check.code
        ref = row_ref(row.sheet, row.number)
        self.build(Enterprise, ref, data, result, field_names=layout.field_names())
        return True

    # -- cells ------------------------------------------------------------------------------

    def _value(
        self,
        row: Row,
        field_name: str,
        parser: Callable[[Any], Any],
        problems: list[EntryError],
        result: ParseResult,
    ) -> Any:
        cell = row.cells.get(field_name)
        if cell is None:
            return None
        if cell.formula is not None and is_blank(cell.value):
            problems.append(
                self._cell_error(
                    row,
                    cell,
                    CellProblem(
                        f"公式 {cell.formula} 没有计算结果：请用 Excel 或 WPS 打开此文件、"
                        "保存后再导入",
                        f"the formula {cell.formula} has no cached value: open the file in "
                        "Excel or WPS, save it, and import it again",
                    ),
                    value=cell.formula,
                )
            )
            return None
        if cell.merged_from is not None and is_blank(cell.value):
            result.warnings.append(
                self._cell_error(
                    row,
                    cell,
                    CellProblem(
                        f"合并单元格（从第{cell.merged_from}行开始），本行按空白处理；"
                        "请取消合并并逐行填写",
                        f"merged cell (from row {cell.merged_from}): blank in this row; unmerge "
                        "it and fill every row",
                    ),
                )
            )
        try:
            return parser(cell.value)
        except CellProblem as problem:
            problems.append(self._cell_error(row, cell, problem))
            return None

    def _quantity(
        self, row: Row, cell: CellValue, problems: list[EntryError], result: ParseResult
    ) -> float | int | None:
        bound = cell.bound
        col = bound.column
        if col.kind == "count":
            number: float | int | None = self._value(
                row,
                col.field,
                lambda v: parse_count(v, unit=bound.unit),
                problems,
                result,
            )
        else:
            number = self._value(
                row, col.field, lambda v: parse_number(v, unit=bound.unit), problems, result
            )
        if number is None:
            return None
        if col.kind in ("amount", "count") and number < 0:
            problems.append(
                self._cell_error(
                    row,
                    cell,
                    CellProblem(
                        f"{col.label}不能为负数，填的是 {number:g}",
                        f"{col.field} must not be negative, got {number:g}",
                    ),
                )
            )
            return None
        assert col.quantity is not None
        converted = round(number * bound.factor, DECIMALS[col.quantity])
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
        problems.append(
            self._cell_error(
                row,
                row.cells[field_name],
                CellProblem(f"“{bound.header}”必须填写", f"{field_name} is required"),
            )
        )

    def _duplicate(self, key: str, row: Row, state: _FileState, result: ParseResult) -> bool:
        """A second row for the same enterprise (and period) is an error; the first stands."""
        first = state.first_seen.setdefault(key, row_ref(row.sheet, row.number))
        if first == row_ref(row.sheet, row.number):
            return False
        what = ("同一企业同一期间", "enterprise and period")
        if state.kind == ROSTER:
            what = ("同一企业", "enterprise")
        result.errors.append(
            self._cell_error(
                row,
                row.cells["credit_code"],
                CellProblem(
                    f"与{first}重复（{what[0]}只能填一行），本行未导入",
                    f"duplicates {first} (one row per {what[1]}); not imported",
                ),
            )
        )
        return True

    def _cell_error(
        self, row: Row, cell: CellValue, problem: CellProblem, *, value: Any = None
    ) -> EntryError:
        return EntryError(
            self.source.name,
            row.sheet,
            row.number,
            cell.bound.header,
            cell.value if value is None else value,
            problem.zh,
            problem.en,
            cell=cell.ref,
        )

    def _error(
        self, sheet: str, row: int | None, column: str | None, value: Any, problem: CellProblem
    ) -> EntryError:
        return EntryError(self.source.name, sheet, row, column, value, problem.zh, problem.en)


def _has_problem(problems: list[EntryError], layout: SheetLayout, field_name: str) -> bool:
    bound = layout.columns.get(field_name)
    return bound is not None and any(p.column == bound.header for p in problems)


def _meta_period(raw: RawMessage) -> str | None:
    period = raw.meta.get("period")
    return str(period) if period else None


__all__ = ["MONTHLY", "ROSTER", "ManualAdapter", "ManualConfig"]
