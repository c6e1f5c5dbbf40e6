"""What an entry file holds when nobody said: monthly figures or the enterprise roster, from
the template's metadata, the headers, or the sheet names."""

from __future__ import annotations

from .columns import KINDS, MONTHLY, ROSTER
from .entryfile import EntryFile
from .headers import HEADER_SCAN_ROWS, match_header

_SHEET_HINTS = {
    MONTHLY: ("月度", "月报", "经营数据", "monthly"),
    ROSTER: ("名录", "名单", "花名册", "企业信息", "roster"),
}


def detect_kind(entry: EntryFile) -> str | None:
    """What an entry file holds: the template's metadata, else its headers (figures make it
    monthly data, roster fields a roster), else its sheet names; a bare list of codes and
    names is a roster."""
    kind = entry.metadata.get("kind")
    if kind in KINDS:
        return kind
    shared = {"credit_code", "name", "remarks"}
    bare_list = False
    for sheet in entry.sheets:
        for _number, values in sheet.rows[:HEADER_SCAN_ROWS]:
            matched = {k: {c.field for v in values if (c := match_header(v, k))} for k in KINDS}
            if "credit_code" not in matched[MONTHLY]:
                continue
            monthly, roster = (len(matched[k] - shared) for k in (MONTHLY, ROSTER))
            if monthly != roster:
                return MONTHLY if monthly > roster else ROSTER
            bare_list = bare_list or (monthly == 0 and "name" in matched[ROSTER])
    for name in entry.sheet_names:
        for k, hints in _SHEET_HINTS.items():
            if any(h in name.lower() for h in hints):
                return k
    return ROSTER if bare_list else None
