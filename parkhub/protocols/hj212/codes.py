"""HJ 212 code lists with names: command codes (CN), system codes (ST), answer codes, versions.

HJ 212-2017 codes are from its Table 5/6/7/9 (the standard's text). HJ 212-2025 codes are as
public implementations and write-ups report them (the 2025 text is sold, not public); they are
marked "(2025)". docs/vendors/hj212.md says which is which and where each comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

Version = Literal["2005", "2017", "2025"]

VERSIONS: Final[Mapping[int, Version]] = {0: "2005", 1: "2017", 2: "2025"}
"""Flag bits V5-V0 -> the standard: 000000 HJ/T 212-2005, 000001 HJ 212-2017, 000010 2025."""
VERSION_BITS: Final[Mapping[str, int]] = {v: k for k, v in VERSIONS.items()}

# Table 7 (9011 QnRtn) and Table 6 (9012 ExeRtn).
QN_RTN: Final[Mapping[int, str]] = {
    1: "ready to execute the request",
    2: "request rejected",
    3: "wrong password (PW)",
    4: "wrong device id (MN)",
    5: "wrong system code (ST)",
    6: "wrong Flag",
    7: "wrong request id (QN)",
    8: "wrong command code (CN)",
    9: "CRC error",
    100: "unknown error",
}
EXE_RTN: Final[Mapping[int, str]] = {
    1: "executed successfully",
    2: "execution failed, reason unknown",
    3: "bad request condition",
    4: "communication timeout",
    5: "system busy",
    6: "system fault",
    100: "no data",
}

CN_NAMES: Final[Mapping[str, str]] = {
    "1000": "set timeout and retries",
    "1001": "upload data logger hardware serial (2025; HJ/T 212-2005: set alarm time)",
    "1002": "set data logger MN (2025)",
    "1011": "get site time",
    "1012": "set site time",
    "1013": "site time calibration request",
    "1014": "new SM4 key: the site asks for one, the host issues one (2025)",
    "1061": "get real-time data interval",
    "1062": "set real-time data interval",
    "1063": "get minute data interval",
    "1064": "set minute data interval",
    "1072": "set site access password",
    "2011": "real-time data",
    "2012": "stop real-time data",
    "2013": "raw monitoring data (2025)",
    "2021": "equipment running state",
    "2022": "stop equipment running state",
    "2031": "daily data",
    "2041": "equipment running time per day",
    "2051": "minute data",
    "2052": "single noise measurement (2025)",
    "2061": "hourly data",
    "2062": "automatic standard-sample check data (2025)",
    "2081": "data logger boot time",
    "2111": "furnace temperature 5-minute mean (2025)",
    "3011": "zero / span calibration",
    "3012": "sample now",
    "3013": "start cleaning / back-blowing",
    "3014": "comparison sampling",
    "3015": "over-limit sample retention",
    "3016": "set sampling period",
    "3017": "get sampling period",
    "3018": "get sample extraction time",
    "3019": "get equipment unique id",
    "3020": "site information",
    "3021": "set site parameters",
    "9011": "request answer",
    "9012": "execution result",
    "9013": "notice answer",
    "9014": "data answer",
    "9015": "heartbeat (2025)",
}

ST_NAMES: Final[Mapping[str, str]] = {
    "21": "surface water quality",
    "22": "air quality",
    "23": "acoustic environment",
    "24": "groundwater quality (2025)",
    "25": "soil quality (2025)",
    "26": "seawater quality (2025)",
    "27": "volatile organic compounds, VOCs (2025)",
    "31": "atmospheric pollution source",
    "32": "surface-water pollution source",
    "33": "groundwater pollution source",
    "34": "marine pollution source",
    "35": "soil pollution source",
    "36": "noise pollution source",
    "37": "vibration pollution source",
    "38": "radioactive pollution source",
    "39": "construction-site dust (2025)",
    "41": "electromagnetic pollution source",
    "44": "electricity-use monitoring (2025, named by one write-up)",
    "45": "key working conditions (2025, named by one write-up)",
    "51": "flue-gas process monitoring (2025)",
    "52": "wastewater process monitoring (2025)",
    "91": "system interaction",
}

DATA_CNS: Final = frozenset({"2011", "2031", "2051", "2061"})
"""Uploads `data_frame` builds and parkhub turns into records."""
HEARTBEAT_CN: Final = "9015"
