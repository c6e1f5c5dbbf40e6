"""What an entry sheet holds, per kind (monthly figures, the enterprise roster, a year's
figures for the 亩均 evaluation): the sheet names and the columns, one list that the template
writes and the importer reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from .units import UNIT_FACTORS

MONTHLY = "enterprise_monthly"
ROSTER = "enterprise_roster"
ANNUAL = "enterprise_annual"
KINDS = (MONTHLY, ROSTER, ANNUAL)
KIND_LABELS = {MONTHLY: "企业月度经营数据", ROSTER: "入园企业名录", ANNUAL: "企业年度亩均评价数据"}
SHEET_NAMES = {MONTHLY: "月度数据", ROSTER: "企业名录", ANNUAL: "年度数据"}
INSTRUCTIONS_SHEET = "填写说明"

ColumnKind = Literal[
    "credit_code", "text", "period", "year", "amount", "signed_amount", "count", "yes_no",
    "date", "status", "industry", "ignore",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an entry sheet: what the template writes and what the importer accepts."""

    field: str
    """Canonical field name (`name` and `remarks` are informational in the monthly sheet)."""
    label: str
    """Chinese header without the unit, e.g. 工业总产值."""
    kind: ColumnKind
    unit: str | None = None
    """Unit the template uses (shown in the header), e.g. 万元."""
    quantity: str | None = None
    """Key of UNIT_FACTORS for quantities."""
    aliases: tuple[str, ...] = ()
    """Other headers operators write for it; the label and the field name are always accepted."""
    required: bool = False
    locked: bool = False
    """Written by the template and protected against accidental edits."""
    width: float = 14.0
    help: str = ""
    """Input message shown in Excel when the cell is selected (at most 255 characters)."""
    choices: tuple[str, ...] = ()

    @property
    def header(self) -> str:
        return f"{self.label}({self.unit})" if self.unit else self.label

    @property
    def factor(self) -> float:
        """From the template's unit to the canonical one (万元 -> yuan: 10000.0); 1.0 for a
        column that is not a quantity."""
        if self.quantity is None or self.unit is None:
            return 1.0
        return UNIT_FACTORS[self.quantity][self.unit.lower()]

    def in_template_unit(self, value: float) -> float:
        """A stored (canonical) value in the unit the template shows, e.g. yuan -> 万元."""
        return float(value) / self.factor


def _money(
    field: str, label: str, aliases: tuple[str, ...], help: str, kind: ColumnKind = "amount"
) -> Column:
    """A monthly figure: entered in 万元, stored in yuan."""
    return Column(field, label, kind, "万元", "money", aliases=aliases, help=help)


def _area(field: str, label: str, aliases: tuple[str, ...], help: str) -> Column:
    return Column(field, label, "amount", "平方米", "area", aliases=aliases, help=help)


def _date(field: str, label: str, aliases: tuple[str, ...], help: str) -> Column:
    return Column(field, label, "date", aliases=aliases, width=12, help=help)


_CODE = Column(
    "credit_code",
    "统一社会信用代码",
    "credit_code",
    aliases=("信用代码", "社会信用代码", "统一代码", "企业信用代码", "uscc"),
    required=True,
    locked=True,
    width=24,
    help="18位统一社会信用代码（文本）。已预填的行不可修改；空白行可填写新企业。",
)
_NAME = Column(
    "name",
    "企业名称",
    "text",
    aliases=("名称", "企业", "单位名称", "公司名称", "enterprise"),
    locked=True,
    width=32,
    help="企业名称，按名录预填，仅供核对（导入时不修改名录）。",
)
_REMARKS = Column(
    "remarks",
    "备注",
    "ignore",
    aliases=("说明", "remark", "note"),
    width=24,
    help="可选，仅供园区内部备注，不导入、不上报。",
)

MONTHLY_COLUMNS: tuple[Column, ...] = (
    _CODE,
    _NAME,
    Column(
        "period",
        "统计期间",
        "period",
        aliases=("期间", "月份", "统计月份", "所属期", "所属期间", "报告期"),
        required=True,
        locked=True,
        width=12,
        help="统计月份，格式 YYYY-MM，例如 2026-10。",
    ),
    _money(
        "output_value_yuan",
        "工业总产值",
        ("产值", "工业产值", "总产值", "output_value"),
        "当月工业总产值，单位万元，可保留4位小数，不能为负。",
    ),
    _money(
        "revenue_yuan",
        "营业收入",
        ("营收", "主营业务收入", "销售收入", "revenue"),
        "当月营业收入，单位万元，不能为负。",
    ),
    _money(
        "tax_yuan",
        "税收",
        ("实缴税金", "实缴税收", "纳税额", "税金", "税收收入", "tax"),
        "当月实缴税收，单位万元，不能为负。",
    ),
    _money(
        "profit_yuan",
        "利润总额",
        ("利润", "profit"),
        "当月利润总额，单位万元；亏损填负数，例如 -12.5。",
        "signed_amount",
    ),
    _money(
        "rnd_yuan",
        "研发费用",
        ("研发投入", "研发经费", "r&d", "rnd"),
        "当月研发费用，单位万元，不能为负。",
    ),
    Column(
        "employees",
        "从业人员",
        "count",
        "人",
        "people",
        aliases=("从业人数", "员工人数", "职工人数", "用工人数", "在职人数"),
        width=12,
        help="月末从业人员数，整数（人）。",
    ),
    Column(
        "electricity_kwh",
        "用电量",
        "amount",
        "万千瓦时",
        "electricity",
        aliases=("用电", "电量", "耗电量", "electricity"),
        width=16,
        help="当月用电量，单位万千瓦时（1万千瓦时 = 10000度），不能为负。",
    ),
    Column(
        "energy_tce",
        "综合能耗",
        "amount",
        "吨标准煤",
        "energy",
        aliases=("能耗", "综合能源消费量", "energy"),
        width=16,
        help="当月综合能耗，单位吨标准煤，不能为负。",
    ),
    _money(
        "value_added_yuan",
        "工业增加值",
        ("增加值", "value_added"),
        "当月工业增加值（亩均评价用），单位万元，不能为负；按年填报的企业可留空。",
    ),
    Column(
        "emissions_kg",
        "主要污染物排放量",
        "amount",
        "吨",
        "mass",
        aliases=("污染物排放量", "排放量", "emissions"),
        width=16,
        help="当月化学需氧量、氨氮、二氧化硫、氮氧化物排放量合计，单位吨；有在线监测的可留空。",
    ),
    _REMARKS,
)

ROSTER_COLUMNS: tuple[Column, ...] = (
    _CODE,
    replace(_NAME, required=True, locked=False, help="企业全称，与营业执照一致。"),
    Column(
        "industry_code",
        "行业代码",
        "industry",
        aliases=("行业", "国民经济行业代码", "行业分类代码", "所属行业代码"),
        help="国民经济行业分类 GB/T 4754-2017 代码，2至4位数字，例如 3823。",
    ),
    Column(
        "above_scale",
        "是否规上企业",
        "yes_no",
        aliases=("规上企业", "是否规上", "规模以上企业", "规上"),
        width=14,
        help="规模以上工业企业选“是”，否则选“否”。",
        choices=("是", "否"),
    ),
    _area(
        "floor_area_m2",
        "租用面积",
        ("厂房面积", "使用面积", "租赁面积", "入驻面积", "floor_area"),
        "租用（使用）的建筑面积，单位平方米，不能为负。",
    ),
    Column(
        "land_area_m2",
        "用地面积",
        "amount",
        "亩",
        "area",
        aliases=("占地面积", "land_area"),
        help="企业独立用地面积，单位亩（1亩≈666.67平方米）；租用园区厂房、无独立用地的不填，"
        "亩均评价按租用面积分摊园区用地。",
    ),
    _date(
        "entered_on",
        "入园日期",
        ("入驻日期", "入园时间", "入驻时间"),
        "入园日期，例如 2023-05-12。",
    ),
    _date(
        "left_on",
        "迁出日期",
        ("退园日期", "迁出时间", "退园时间"),
        "已迁出企业的迁出日期；在园企业不填。",
    ),
    Column(
        "status",
        "状态",
        "status",
        aliases=("在园状态", "企业状态"),
        width=10,
        help="在园 或 已迁出。",
        choices=("在园", "已迁出"),
    ),
    Column(
        "contact",
        "联系人及电话",
        "text",
        aliases=("联系人", "联系方式", "联系电话"),
        width=22,
        help="企业联系人及电话，可选。",
    ),
    _REMARKS,
)


def _year_money(field: str, label: str, aliases: tuple[str, ...], what: str) -> Column:
    return Column(
        field,
        label,
        "amount",
        "万元",
        "money",
        aliases=aliases,
        help=f"{what}，单位万元，不能为负。",
    )


ANNUAL_COLUMNS: tuple[Column, ...] = (
    _CODE,
    _NAME,
    Column(
        "year",
        "评价年度",
        "year",
        aliases=("年度", "年份", "统计年度"),
        required=True,
        locked=True,
        width=10,
        help="数据所属年度，例如 2025。",
    ),
    _year_money("value_added_yuan", "工业增加值", ("增加值", "value_added"), "全年工业增加值"),
    _year_money("tax_yuan", "实缴税金", ("评价税收", "税收", "tax"), "全年实缴税金（按本县口径）"),
    _year_money("revenue_yuan", "主营业务收入", ("营业收入", "revenue"), "全年主营业务收入"),
    _year_money("output_value_yuan", "工业总产值", ("产值", "output_value"), "全年工业总产值"),
    Column(
        "energy_tce",
        "综合能耗",
        "amount",
        "吨标准煤",
        "energy",
        aliases=("能耗", "综合能源消费量", "energy"),
        width=16,
        help="全年综合能耗（等价值），吨标准煤。",
    ),
    Column(
        "emissions_kg",
        "主要污染物排放量",
        "amount",
        "吨",
        "mass",
        aliases=("污染物排放量", "排放量", "emissions"),
        width=16,
        help="全年化学需氧量、氨氮、二氧化硫、氮氧化物排放量合计，吨。",
    ),
    Column(
        "electricity_kwh",
        "用电量",
        "amount",
        "万千瓦时",
        "electricity",
        aliases=("用电", "电量", "electricity"),
        width=16,
        help="全年用电量，万千瓦时。",
    ),
    Column(
        "employees",
        "年平均职工人数",
        "count",
        "人",
        "people",
        aliases=("职工人数", "从业人员", "平均职工人数"),
        width=14,
        help="全年平均职工人数（人）。",
    ),
    _year_money("rnd_yuan", "R&D经费支出", ("研发经费", "研发费用", "r&d"), "全年R&D经费支出"),
    _REMARKS,
)
"""A year's figures for the 亩均 evaluation: what is given here stands for the year; what is
left empty is summed from the monthly figures."""

COLUMNS: dict[str, tuple[Column, ...]] = {
    MONTHLY: MONTHLY_COLUMNS,
    ROSTER: ROSTER_COLUMNS,
    ANNUAL: ANNUAL_COLUMNS,
}
