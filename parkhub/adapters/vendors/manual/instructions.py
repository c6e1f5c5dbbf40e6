"""The template's 填写说明 sheet: how to fill in the data sheet, how import and corrections work,
the sheet protection, and every column with its unit and help, in Chinese."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl.styles import Alignment, Font

from parkhub import __version__
from parkhub.canonical.timeutil import SHANGHAI, utcnow

from .columns import ANNUAL, INSTRUCTIONS_SHEET, KIND_LABELS, MONTHLY, SHEET_NAMES, Column
from .metadata import META_SHEET, TEMPLATE_VERSION, ParkNames
from .styles import BORDER, HEADER_FILL


def _how(kind: str, period: str) -> list[str]:
    """How to fill in the data sheet of `kind` (the first steps; step 7 is the same for all)."""
    sheet = SHEET_NAMES[kind]
    if kind == MONTHLY:
        return [
            f"1. 在“{sheet}”工作表中，每家企业一行，在白色单元格里填写 {period} 当月的数据。",
            "   灰色单元格（统一社会信用代码、企业名称、统计期间）已按园区企业名录预填并锁定。",
            "2. 金额单位是“万元”，用电量单位是“万千瓦时”（1万千瓦时 = 10000度），"
            "综合能耗单位是“吨标准煤”，主要污染物排放量单位是“吨”，从业人员填整数（人）。",
            "3. 只填数字：不要写“约”“左右”、单位或文字；没有的数据留空。",
            "4. 利润总额亏损时填负数；其他金额和数量不能为负。",
            "5. 企业名录中没有的企业，在表格下方的空白行填写信用代码和企业名称。",
            "6. 某家企业整行没有填数据时不会导入，也不算错误。",
        ]
    if kind == ANNUAL:
        return [
            f"1. 在“{sheet}”工作表中，每家企业一行，填写 {period[:4]} 全年的亩均评价数据。",
            "   灰色单元格（统一社会信用代码、企业名称、评价年度）已预填并锁定。",
            "2. 金额单位是“万元”，用电量“万千瓦时”，综合能耗“吨标准煤”（等价值），"
            "主要污染物排放量“吨”（化学需氧量、氨氮、二氧化硫、氮氧化物合计）。",
            "3. 这里填写的数据代表全年；留空的项目按月度数据12个月合计计算，"
            "排放量留空时按在线监测（HJ 212）数据合计。",
            "4. 只填数字：不要写“约”“左右”、单位或文字；不能为负。",
            "5. 企业可能对评价结果提出异议：请按税务、统计、供电部门的口径填写，留存凭证。",
            "6. 某家企业整行没有填数据时不会导入，也不算错误。",
        ]
    return [
        f"1. 在“{sheet}”工作表中，每家入园企业一行。信用代码已锁定；其他信息可修改。",
        "2. 新入园企业在下方空白行填写；已迁出的企业把“状态”改为“已迁出”并填写迁出日期，"
        "不要删除行。",
        "3. 租用面积单位是“平方米”，用地面积单位是“亩”；“是否规上企业”和“状态”请从下拉列表中选择。",
        "4. 日期写成 2023-05-12 这样的格式。",
    ]


def _lines(park_title: str, kind: str, period: str) -> list[tuple[str, bool]]:
    """The text above the column table, as (line, bold)."""
    return [
        (f"{park_title}{KIND_LABELS[kind]} 填写说明", True),
        ("", False),
        ("一、怎么填", True),
        *[(text, False) for text in _how(kind, period)],
        ("7. 填完后保存为 .xlsx（不要改文件名后缀、不要另存为 .xls），交园区管理员导入。", False),
        ("", False),
        ("二、导入和改错", True),
        (
            "导入后，系统逐行检查：正确的行直接入库；有问题的行会列出“工作表、行号、列、填写的值、原因”。",
            False,
        ),
        (
            "按提示改正后，重新导入整个文件即可。已经导入的正确数据不会重复，只有改动过的数据会更新并重新上报。",
            False,
        ),
        ("", False),
        ("三、工作表保护", True),
        ("锁定的单元格受“工作表保护”保护，没有设置密码，只是防止误改。", False),
        ("确需修改时（例如插入行）：审阅 → 撤销工作表保护；改完后请勿改动列标题。", False),
        (
            f"请不要删除或修改隐藏的工作表“{META_SHEET}”：导入时靠它识别园区、期间和模板类型。",
            False,
        ),
        ("", False),
        ("四、各列说明", True),
    ]


def add_instructions(
    wb: Any, park: ParkNames, period: str, kind: str, columns: Sequence[Column]
) -> None:
    """Add the 填写说明 sheet to `wb` (protected: it is read, not edited)."""
    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    park_title = f"{park.name}（{park.id}）"
    row = 1
    for text, bold in _lines(park_title, kind, period):
        cell = ws.cell(row, 1, text or None)
        if bold:
            cell.font = Font(bold=True, size=12 if row == 1 else 11)
        row += 1
    for index, head in enumerate(("列名", "单位", "必填", "说明"), start=1):
        cell = ws.cell(row, index, head)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
    for col in columns:
        row += 1
        cells = (col.header, col.unit or "", "是" if col.required else "", col.help)
        for index, text in enumerate(cells, start=1):
            cell = ws.cell(row, index, text)
            cell.border = BORDER
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    row += 2
    generated = utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    ws.cell(row, 1, f"园区：{park_title}  期间：{period}  模板版本：{TEMPLATE_VERSION}")
    ws.cell(row + 1, 1, f"生成时间：{generated}（parkhub {__version__}）")
    for letter, width in zip("ABCD", (28, 12, 8, 70), strict=True):
        ws.column_dimensions[letter].width = width
    ws.protection.sheet = True
