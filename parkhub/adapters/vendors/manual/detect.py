"""What an entry file holds when nobody said: monthly figures, the enterprise roster or a
year's figures, from the template's metadata, the headers, or the sheet names."""

from __future__ import annotations

from .columns import ANNUAL, KINDS, MONTHLY, ROSTER
from .entryfile import EntryFile
from .headers import HEADER_SCAN_ROWS, match_header

_SHEET_HINTS = {
    MONTHLY: ("月度", "月报", "经营数据", "monthly"),
    ROSTER: ("名录", "名单", "花名册", "企业信息", "roster"),
    ANNUAL: ("年度", "年报", "亩均", "annual"),
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
            counts = {k: len(matched[k] - shared) for k in KINDS}
            best = max(counts.values())
            leaders = [k for k in KINDS if counts[k] == best]  # monthly first on a tie
            if best and (len(leaders) == 1 or (MONTHLY in leaders and ROSTER not in leaders)):
                return leaders[0]
            bare_list = bare_list or (best == 0 and "name" in matched[ROSTER])
    for name in entry.sheet_names:
        for k, hints in _SHEET_HINTS.items():
            if any(h in name.lower() for h in hints):
                return k
    return ROSTER if bare_list else None
