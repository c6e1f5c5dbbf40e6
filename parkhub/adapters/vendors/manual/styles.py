"""How the template looks: borders, fills for headers, required and locked cells, and the
number format of each column kind."""

from __future__ import annotations

from openpyxl.styles import Border, PatternFill, Protection, Side

_THIN = Side(style="thin", color="BFBFBF")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
LOCKED_FILL = PatternFill("solid", fgColor="EDEDED")
UNLOCKED = Protection(locked=False)
NUMBER_FORMATS = {
    "amount": "#,##0.00##",
    "signed_amount": "#,##0.00##",
    "count": "0",
    "credit_code": "@",
    "period": "@",
    "industry": "@",
    "text": "@",
    "date": "yyyy-mm-dd",
}
"""Column kind -> Excel number format ("@" is text, so codes keep their leading zeros)."""
