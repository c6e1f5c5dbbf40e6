"""HJ 212-2025 / 2017 / HJ/T 212-2005 frames: CRC, parse, encode, builders, stream splitting,
reassembly.

Protocol code only (no I/O, no store): the listener, the uplink and the sandbox all build on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final, Literal

from parkhub.canonical import hj212_factors, timeutil

from . import sm4
from .codes import CN_NAMES as CN_NAMES  # re-exported: the codec's names since 2017
from .codes import DATA_CNS, HEARTBEAT_CN, VERSION_BITS, VERSIONS, Version
from .codes import EXE_RTN as EXE_RTN
from .codes import QN_RTN as QN_RTN

CrcVariant = Literal["hj212", "modbus-swapped", "modbus"]

MAX_SEGMENT_STRICT: Final = 1024  # Table 2
MAX_SEGMENT: Final = 9999  # what four length digits can say; real logs exceed 1024
MAX_FRAME_BYTES: Final = 2 + 4 + MAX_SEGMENT + 4 + 2

FLAG_A: Final = 0b01  # reply required
FLAG_D: Final = 0b10  # packet carries PNUM/PNO
TRANSMISSION: Final = frozenset({"header", "length", "tail", "crc"})
"""FrameError reasons a resend can fix (the bytes were damaged on the way): never answered."""


class FrameError(ValueError):
    """A frame that cannot be read; the message names the part, the value and the rule.

    `reason` is one of "header", "length", "tail", "crc" (the bytes were damaged: TRANSMISSION),
    "field", "cp", "encoding" (text neither UTF-8 nor GBK), "encrypted" (SM4-encrypted CP and
    no key), "sm4" (CP that does not decrypt with the key); `field` names the data segment
    field when one is at fault; `expected`/`got` carry both sides of a CRC error. `frame` is the
    frame's header (CP empty) when the header could be read, e.g. to answer it.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "field",
        field: str | None = None,
        expected: str | None = None,
        got: str | None = None,
        frame: Frame | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.expected = expected
        self.got = got
        self.frame = frame


# --- CRC (Annex A) ------------------------------------------------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for x in range(256):
        reg = x
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
        table.append(reg)
    return tuple(table)


_CRC_TAB: Final = _crc_table()
# Annex A shifts the high byte out before mixing in the next byte, so only 8 bits of state enter
# each round: the state after a byte is _CRC_HI[state ^ byte]. That lets us precompute two bytes
# at a time (little-endian 16-bit words, low byte first) and halve the Python loop.
_CRC_HI: Final = [t >> 8 for t in _CRC_TAB]
_CRC_PAIR: Final = [_CRC_HI[_CRC_HI[x] ^ b2] for b2 in range(256) for x in range(256)]
_PAIRS_OK: Final = sys.byteorder == "little"


def _crc_value(data: bytes) -> int:
    n = len(data)
    if not n:
        return 0xFFFF
    state = 0xFF
    last = n - 1
    start = 0
    if _PAIRS_OK and last >= 64:
        start = last & ~1
        pair = _CRC_PAIR
        for word in memoryview(data)[:start].cast("H"):
            state = pair[word ^ state]
    hi = _CRC_HI
    for b in data[start:last]:
        state = hi[state ^ b]
    return _CRC_TAB[state ^ data[last]]


def crc16(data: bytes) -> str:
    """The HJ 212 Annex A CRC of a data segment as 4 upper-case hex digits (not CRC-16/MODBUS).

    >>> crc16(b"QN=20160801085857223;ST=32;CN=1062;PW=100000;"
    ...       b"MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&")
    '1C80'
    """
    return f"{_crc_value(data):04X}"


def _modbus(data: bytes) -> int:
    reg = 0xFFFF
    tab = _CRC_TAB
    for b in data:
        reg = (reg >> 8) ^ tab[(reg ^ b) & 0xFF]
    return reg


def modbus_swapped_crc(data: bytes) -> str:
    """CRC-16/MODBUS printed low byte first, as some data loggers send it instead of Annex A."""
    reg = _modbus(data)
    return f"{reg & 0xFF:02X}{reg >> 8:02X}"


def modbus_crc(data: bytes) -> str:
    """CRC-16/MODBUS printed high byte first, as other data loggers send it."""
    return f"{_modbus(data):04X}"


_CRC_FUNCS: Final[Mapping[str, Callable[[bytes], str]]] = {
    "hj212": crc16,
    "modbus-swapped": modbus_swapped_crc,
    "modbus": modbus_crc,
}


# --- CP (command parameters) --------------------------------------------------------------------

_RESERVED = frozenset(";,=&\r\n")


def parse_value(text: str) -> float:
    """A factor value as sent, as a number; ValueError saying why it is none. Infinity and NaN
    ("inf", "nan", "1e400") are refused: JSON carries them as null, so they would be stored as
    "no value"."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"应为数字 (must be a number, got {text[:100]!r})") from None
    if not math.isfinite(value):
        raise ValueError(f"数值超出范围 (not a finite number: {text[:100]!r})")
    return value


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_value(value: object) -> str:
    """A value as HJ 212 text: numbers in plain decimal notation (never 1e-05), strings as is."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError(f"HJ 212 has no booleans; got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"HJ 212 cannot carry {value!r}")
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    raise ValueError(f"cannot write {type(value).__name__} {value!r} as an HJ 212 value")


def _check_text(what: str, text: str) -> str:
    if _RESERVED.intersection(text):
        raise ValueError(f"{what} {text!r} contains a reserved character (; , = & CR LF)")
    return text


_TIME_SEPARATORS: Final = str.maketrans("", "", "-: T/.")


def _time_text(text: str | None, what: str) -> dt.datetime | None:
    """YYYYMMDDhhmmss (Beijing time) as aware UTC; milliseconds after it are ignored, and so
    are separators some loggers write (`2020-09-23 11:17:07`)."""
    if text is None or text == "":
        return None
    digits = text if text[:14].isdigit() else text.translate(_TIME_SEPARATORS)
    if len(digits) < 14 or not digits[:14].isdigit():
        raise FrameError(f"{what} must be YYYYMMDDhhmmss, got {text!r}", field=what)
    try:
        return timeutil.parse_local(digits[:14], "%Y%m%d%H%M%S")
    except ValueError:
        raise FrameError(f"{what} {text!r} is not a valid date and time", field=what) from None


@dataclass(frozen=True, slots=True, eq=False)
class Cp:
    """The CP field: `text` as sent, plus plain keys (`values`) and per-factor items (`factors`).

    `factors["a21026"] == {"Avg": "6", "Flag": "N"}`; `values["DataTime"] == "20220513162600"`.
    Build one with `Cp.build(...)` or `Cp.parse(text)`; `text` is what gets encoded.
    `source_codes` maps a factor code to the code the device sent when tolerant parsing
    translated an HJ/T 212-2005 code (e.g. `{"w01018": "011"}`).
    """

    text: str
    values: Mapping[str, str]
    factors: Mapping[str, Mapping[str, str]]
    source_codes: Mapping[str, str]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cp) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    @classmethod
    def parse(cls, text: str, *, tolerant: bool = False) -> Cp:
        """Read CP text (between `CP=&&` and `&&`)."""
        return _parse_cp(text, tolerant, None, False, [])

    @classmethod
    def build(cls, fields: Mapping[str, object] | None = None, /, **more: object) -> Cp:
        """CP from plain keys and factors, in the order given.

        >>> Cp.build({"DataTime": "20220513162600", "a21026": {"Avg": 6, "Flag": "N"}}).text
        'DataTime=20220513162600;a21026-Avg=6,a21026-Flag=N'
        """
        groups: list[str] = []
        for key, value in itertools.chain((fields or {}).items(), more.items()):
            _check_text("CP key", key)
            if isinstance(value, Mapping):
                items = [
                    f"{key}-{_check_text('suffix', str(suffix))}="
                    f"{_check_text('value', format_value(v))}"
                    for suffix, v in value.items()
                    if v is not None
                ]
                if items:
                    groups.append(",".join(items))
            elif value is not None:
                groups.append(f"{key}={_check_text('value', format_value(value))}")
        return _parse_cp(";".join(groups), False, None, False, [])

    def get(self, key: str) -> str | None:
        """A plain key's value (DataTime, QnRtn, ExeRtn, RtdInterval, ...)."""
        return self.values.get(key)

    def number(self, code: str, suffix: str = "Rtd") -> float | None:
        """A factor value as float; None when absent or empty. Raises FrameError if not a number."""
        text = self.factors.get(code, {}).get(suffix)
        if text is None or text == "":
            return None
        try:
            return parse_value(text)
        except ValueError:
            what = "not a finite number" if _is_float(text) else "not a number"
            raise FrameError(
                f"{code}-{suffix}={text!r} is {what}", reason="cp", field=f"{code}-{suffix}"
            ) from None

    def time(self, key: str = "DataTime") -> dt.datetime | None:
        """A YYYYMMDDhhmmss key (Beijing time on the wire) as an aware UTC datetime."""
        return _time_text(self.values.get(key), key)

    def as_dict(self) -> dict[str, str | dict[str, str]]:
        """Plain keys then factors, JSON-able (the shape `Cp.build` takes)."""
        out: dict[str, str | dict[str, str]] = dict(self.values)
        out.update((code, dict(items)) for code, items in self.factors.items())
        return out


def _parse_cp(text: str, tolerant: bool, st: str | None, map_old: bool, warnings: list[str]) -> Cp:
    values: dict[str, str] = {}
    factors: dict[str, dict[str, str]] = {}
    last_code = ""
    # `;` separates items and `,` values of one item; the grouping carries no meaning we need
    # (text keeps it for encoding), so both split alike: one flat loop is the hot path.
    for item in text.replace(",", ";").split(";") if text else ():
        key, sep, value = item.partition("=")
        code, dash, suffix = key.partition("-")
        if not (sep and dash and code and suffix):
            if not sep or not key:
                what = f"item {item!r} is not key=value" if item else "an empty item (';;', ',,')"
                if not tolerant:
                    raise FrameError(f"CP has {what}", reason="cp")
                warnings.append(f"CP has {what}; ignored")
                continue
            if key != "Flag":
                if dash:
                    if not tolerant:
                        raise FrameError(
                            f"CP key {key!r} is not xxxxxx-Suffix", reason="cp", field=key
                        )
                    warnings.append(f"CP key {key!r} is not xxxxxx-Suffix; kept as a plain key")
                if key in values:
                    if not tolerant:
                        raise FrameError(f"CP key {key!r} appears twice", reason="cp", field=key)
                    warnings.append(f"CP key {key!r} appears twice; kept the last value {value!r}")
                values[key] = value
                continue
            # A data mark without its factor code (`w01018-Rtd=1,Flag=N`): it belongs to the
            # factor just before it.
            if not tolerant or not last_code:
                raise FrameError(
                    f"CP item 'Flag={value}' has no factor code (expected xxxxxx-Flag)",
                    reason="cp",
                    field="Flag",
                )
            warnings.append(f"bare 'Flag={value}' in CP read as {last_code}-Flag")
            code, suffix = last_code, "Flag"
        last_code = code
        items = factors.get(code)
        if items is None:
            factors[code] = {suffix: value}
        elif suffix in items:
            if not tolerant:
                raise FrameError(f"CP key '{code}-{suffix}' appears twice", reason="cp", field=key)
            warnings.append(
                f"CP key '{code}-{suffix}' appears twice; kept the last value {value!r}"
            )
            items[suffix] = value
        else:
            items[suffix] = value
    source: dict[str, str] = {}
    if map_old and factors:
        renamed: dict[str, dict[str, str]] = {}
        for code, items in factors.items():
            new = hj212_factors.new_code_for(code, st)
            if new is None:
                new = code
            else:
                source[new] = code
            if new in renamed:
                warnings.append(f"factor {new} sent twice (as {code} too); kept the last values")
                renamed[new].update(items)
            else:
                renamed[new] = items
        factors = renamed
    return Cp(text, values, factors, source)


EMPTY_CP: Final = Cp("", {}, {}, {})


# --- Frame ---------------------------------------------------------------------------------------

_CANONICAL: Final = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_STRICT_ORDER: Final = _CANONICAL[:6]
_STRICT_ORDER_SPLIT: Final = _CANONICAL
_STD_KEYS: Final = frozenset(_CANONICAL)
_KEY_BY_LOWER: Final = {k.lower(): k for k in _CANONICAL}


def _canonical_key(raw: str) -> str | None:
    if raw in _STD_KEYS:
        return raw
    return _KEY_BY_LOWER.get(raw.strip(" ,\t").lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One HJ 212 packet. Values stay strings as sent, so encoding gives the same bytes back.

    `crc` is the CRC text as received and `crc_variant` which algorithm matched ("hj212",
    "modbus-swapped" or "modbus"); both are None on frames built here. `warnings` lists what
    tolerant parsing forgave. `order`/`extra` keep the header as sent (field order, key spelling,
    fields that are not standard) for an exact round trip; leave them empty on frames you build.
    `encrypted`: the CP came SM4-encrypted (`cp` holds it decrypted). `encoding`: the text
    encoding of the data segment as sent ("utf-8", or "gbk" from some loggers).
    """

    st: str
    cn: str
    pw: str
    mn: str
    cp: Cp = EMPTY_CP
    qn: str | None = None
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None
    crc: str | None = None
    crc_variant: CrcVariant | None = None
    warnings: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    encrypted: bool = False
    encoding: str = "utf-8"

    @property
    def version(self) -> Version | Literal["unknown"]:
        """The standard Flag's version bits declare: "2005" (000000, or no Flag), "2017"
        (000001), "2025" (000010); "unknown" for bits no standard defines."""
        if self.flag is None:
            return "2005"
        return VERSIONS.get(self.flag >> 2, "unknown")

    @property
    def needs_ack(self) -> bool:
        """Flag bit A: the sender waits for an answer."""
        return self.flag is not None and bool(self.flag & FLAG_A)

    @property
    def is_split(self) -> bool:
        """Flag bit D (or, on flag-less 2005 frames, PNUM present): one packet of several."""
        if self.flag is None:
            return self.pnum is not None
        return bool(self.flag & FLAG_D)

    @property
    def key(self) -> tuple[str, str | None, str]:
        """(MN, QN, CN): what identifies one upload, e.g. to drop a retried duplicate."""
        return (self.mn, self.qn, self.cn)

    @property
    def data_time(self) -> dt.datetime | None:
        """CP DataTime as aware UTC (the period start for 2031/2051/2061)."""
        return self.cp.time("DataTime")

    @property
    def qn_time(self) -> dt.datetime | None:
        """QN (YYYYMMDDhhmmsszzz, Beijing time) as aware UTC, milliseconds included."""
        if not self.qn:
            return None
        base = _time_text(self.qn, "QN")
        if base is not None and len(self.qn) >= 17 and self.qn[14:17].isdigit():
            base += dt.timedelta(milliseconds=int(self.qn[14:17]))
        return base

    def segment(self) -> str:
        """The data segment text (what the CRC covers)."""
        return _segment(self)


def _std_text(frame: Frame, key: str) -> str | None:
    if key == "QN":
        return frame.qn
    if key == "ST":
        return frame.st
    if key == "CN":
        return frame.cn
    if key == "PW":
        return frame.pw
    if key == "MN":
        return frame.mn
    number = frame.flag if key == "Flag" else frame.pnum if key == "PNUM" else frame.pno
    return None if number is None else str(number)


def _segment(frame: Frame, cp_text: str | None = None) -> str:
    cp = frame.cp.text if cp_text is None else cp_text
    if not frame.order and not frame.extra:
        head = f"ST={frame.st};CN={frame.cn};PW={frame.pw};MN={frame.mn};"
        if frame.qn is not None:
            head = f"QN={frame.qn};{head}"
        if frame.flag is not None:
            head += f"Flag={frame.flag};"
        if frame.pnum is not None:
            head += f"PNUM={frame.pnum};"
        if frame.pno is not None:
            head += f"PNO={frame.pno};"
        return f"{head}CP=&&{cp}&&"
    extra = dict(frame.extra)
    parts: list[str] = []
    seen: set[str] = set()
    for raw in frame.order or _CANONICAL:
        key = _canonical_key(raw)
        if key is None:
            if raw in extra:
                parts.append(f"{raw}={extra[raw]}")
            continue
        seen.add(key)
        value = _std_text(frame, key)
        sent = extra.get(raw)
        # Keep the text as sent (PNUM=0002, Flag=N) while it still means the same value.
        if sent is not None and (
            value is None or (sent.isascii() and sent.isdigit() and str(int(sent)) == value)
        ):
            value = sent
        if value is not None:
            parts.append(f"{raw}={value}")
    for key in _CANONICAL:
        if key not in seen and (value := _std_text(frame, key)) is not None:
            parts.append(f"{key}={value}")
    parts.append(f"CP=&&{cp}&&")
    return ";".join(parts)


def encode_frame(
    frame: Frame, *, crc_variant: CrcVariant = "hj212", sm4_key: bytes | None = None
) -> bytes:
    """The wire bytes of a frame: `##`, 4-digit length, data segment, CRC, CR LF.

    The CRC is always recomputed (upper case); `crc_variant="modbus-swapped"` (or "modbus")
    answers a device that only understands that variant. With `sm4_key` a non-empty CP is
    SM4-encrypted (HJ 212-2025, see `sm4`). The text is written in `frame.encoding`.
    """
    cp_text = None
    if sm4_key is not None and frame.cp.text:
        cp_text = sm4.encrypt_cp(frame.cp.text, sm4_key, frame.encoding)
    seg = _segment(frame, cp_text).encode(frame.encoding)
    n = len(seg)
    if n > MAX_SEGMENT:
        raise FrameError(
            f"data segment is {n} bytes; four length digits allow at most {MAX_SEGMENT}",
            reason="length",
        )
    return b"##%04d%s%s\r\n" % (n, seg, _CRC_FUNCS[crc_variant](seg).encode("ascii"))


# --- parse ---------------------------------------------------------------------------------------


def parse_frame(
    data: bytes | str, *, tolerant: bool = False, sm4_key: bytes | None = None
) -> Frame:
    """Read one frame (`##` ... CR LF). Strict follows HJ 212-2017 to the letter, and takes the
    version bits of HJ 212-2025 (Flag 8/9) too.

    `tolerant=True` accepts what real loggers send: lower-case CRCs or CRC-16/MODBUS in either
    byte order, header fields in any order or spelling (`FLAG`), HJ/T 212-2005 frames without
    QN or Flag (old factor codes translated), a PW longer than 6, non-numeric Flag, a bare
    `Flag=N` in CP, duplicate keys (the last one wins), a 17-digit DataTime, segments up to 9999
    bytes, a missing CR LF, a length that counts characters rather than bytes, and text in GBK.
    Each is noted in `warnings`. A wrong CRC or length, an empty MN and anything else unreadable
    raise FrameError.

    With `sm4_key` (16 bytes) SM4-encrypted CP (HJ 212-2025) is decrypted; encrypted CP without
    a key raises FrameError(reason="encrypted") naming the MN.
    """
    return _parse(data, tolerant, True, sm4_key)


def _parse(
    data: bytes | str, tolerant: bool, check_crc: bool, sm4_key: bytes | None = None
) -> Frame:
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, bytes):
        data = bytes(data)
    if data[:2] != b"##":
        raise FrameError(f"a frame starts with '##', got {data[:2]!r}", reason="header")
    digits = data[2:6]
    if len(digits) != 4 or not digits.isdigit():
        raise FrameError(
            f"the data length must be 4 decimal digits after '##', got {digits!r}",
            reason="length",
            field="length",
        )
    declared = int(digits)
    warnings: list[str] = []
    end = len(data)
    if data.endswith(b"\r\n"):
        end -= 2
    elif tolerant:
        end = len(data.rstrip(b"\r\n\x00 "))  # LF alone, a C string's NUL
        if end < len(data):
            warnings.append(f"the frame ends with {data[end:]!r} after the CRC, not CR LF")
        else:
            warnings.append("no CR LF after the CRC")
    else:
        raise FrameError(
            f"a frame ends with CR LF, got {data[-2:]!r} (tolerant mode accepts it missing)",
            reason="tail",
        )
    seg_end = end - 4
    if seg_end < 6:
        raise FrameError(
            f"frame too short ({len(data)} bytes) for a data segment and CRC", reason="length"
        )
    segment = data[6:seg_end]
    _check_length(segment, declared, tolerant, warnings)
    crc_got = data[seg_end:end].decode("latin-1")
    variant = _check_crc(segment, crc_got, tolerant, check_crc, warnings)
    encoding = "utf-8"
    try:
        text = segment.decode("utf-8")
    except UnicodeDecodeError as exc:
        text, encoding = _not_utf8(segment, exc, tolerant, crc_got, variant)
        warnings.append("the data segment is GBK, not UTF-8; read as GBK")
    return _parse_segment(text, tolerant, crc_got, variant, warnings, sm4_key, encoding)


def _check_length(segment: bytes, declared: int, tolerant: bool, warnings: list[str]) -> None:
    if len(segment) != declared:
        text_len = -1
        for encoding in ("utf-8", "gbk") if tolerant else ():
            with contextlib.suppress(UnicodeDecodeError):
                text_len = len(segment.decode(encoding))
                break
        if text_len != declared:
            raise FrameError(
                f"the length field says {declared} but the data segment has {len(segment)} bytes",
                reason="length",
                field="length",
            )
        warnings.append(f"the length field counts characters ({declared}), not bytes")
    if declared > MAX_SEGMENT_STRICT:
        if not tolerant:
            raise FrameError(
                f"data segment is {declared} bytes; HJ 212-2017 allows at most "
                f"{MAX_SEGMENT_STRICT} (tolerant mode accepts up to 9999)",
                reason="length",
                field="length",
            )
        warnings.append(
            f"data segment is {declared} bytes; HJ 212-2017 allows at most {MAX_SEGMENT_STRICT}"
        )


def _check_crc(
    segment: bytes, crc_got: str, tolerant: bool, check_crc: bool, warnings: list[str]
) -> CrcVariant | None:
    expected = crc16(segment)
    if crc_got == expected:
        return "hj212"
    upper = crc_got.upper()
    if tolerant:
        if upper == expected:
            warnings.append(f"CRC {crc_got!r} is in lower case")
            return "hj212"
        if upper == modbus_swapped_crc(segment):
            warnings.append(f"CRC {crc_got!r} is CRC-16/MODBUS low byte first, not HJ 212")
            return "modbus-swapped"
        if upper == modbus_crc(segment):
            warnings.append(f"CRC {crc_got!r} is CRC-16/MODBUS, not HJ 212")
            return "modbus"
    if not check_crc:
        return None
    hint = " (lower case: tolerant mode accepts it)" if upper == expected else ""
    raise FrameError(
        f"CRC mismatch: the frame carries {crc_got!r}, the HJ 212 CRC of the data "
        f"segment is {expected!r}{hint}",
        reason="crc",
        field="CRC",
        expected=expected,
        got=crc_got,
    )


def _not_utf8(
    segment: bytes,
    exc: UnicodeDecodeError,
    tolerant: bool,
    crc: str,
    variant: CrcVariant | None,
) -> tuple[str, str]:
    """GBK text (tolerant), or the reason it cannot be read, with the header to answer it."""
    if tolerant:
        with contextlib.suppress(UnicodeDecodeError):
            return segment.decode("gbk"), "gbk"
    what = "neither UTF-8 nor GBK" if tolerant else "not UTF-8 (tolerant mode reads GBK)"
    raise FrameError(
        f"the data segment is {what}: byte {exc.start} is {segment[exc.start]:#04x}",
        reason="encoding",
        frame=_header_only(segment.decode("latin-1"), crc, variant),
    )


def _header_only(text: str, crc: str, variant: CrcVariant | None) -> Frame | None:
    """The header of a frame whose content cannot be read (to answer it), if readable."""
    cp_at = text.find(";CP=&&")
    if cp_at < 0:
        return None
    try:
        frame = _parse_segment(text[: cp_at + 1] + "CP=&&&&", True, crc, variant, [])
    except FrameError:
        return None
    return frame if frame.mn else None


def _parse_segment(
    text: str,
    tolerant: bool,
    crc: str,
    variant: CrcVariant | None,
    warnings: list[str],
    sm4_key: bytes | None = None,
    encoding: str = "utf-8",
) -> Frame:
    cp_at = text.find("CP=&&")
    if cp_at < 0:
        raise FrameError("the data segment has no 'CP=&&' field", field="CP")
    if len(text) < cp_at + 7 or not text.endswith("&&"):
        raise FrameError("CP must end with '&&' at the end of the data segment", field="CP")
    if cp_at and text[cp_at - 1] != ";":
        raise FrameError(f"'CP=' must follow ';', got {text[cp_at - 1]!r}", field="CP")
    head = text[: cp_at - 1] if cp_at else ""
    fields, raw_keys, order, extra = _header_fields(head, tolerant, warnings)
    if tolerant:
        for key in ("CN", "MN"):
            if key not in fields:
                raise FrameError(f"the header has no {key}", field=key)
        flag, pnum, pno = (
            _int_field(fields.get(k), raw_keys.get(k, k), extra, warnings)
            for k in ("Flag", "PNUM", "PNO")
        )
        _tolerant_header_warnings(fields, flag, warnings)
    else:
        flag, pnum, pno = _check_strict(fields, tuple(order))
    key_order = tuple(order)
    mn = fields["MN"]
    if not mn:
        raise FrameError(
            "MN is empty (MN=;): no device can be told from it; set the logger's MN",
            field="MN",
        )

    def frame(**more: Any) -> Frame:
        return Frame(
            qn=fields.get("QN"),
            st=fields.get("ST", ""),
            cn=fields["CN"],
            pw=fields.get("PW", ""),
            mn=mn,
            flag=flag,
            pnum=pnum,
            pno=pno,
            crc=crc,
            crc_variant=variant,
            order=() if key_order in (_STRICT_ORDER, _STRICT_ORDER_SPLIT) else key_order,
            extra=tuple(extra.items()),
            **more,
        )

    cp_text = text[cp_at + 5 : -2]
    encrypted = sm4.looks_encrypted(cp_text)
    if encrypted:
        cp_text, encoding = _decrypt(frame(encoding=encoding), cp_text, sm4_key)
    version_2005 = flag is None or flag >> 2 == 0
    st = fields.get("ST") or None
    cp = _parse_cp(cp_text, tolerant, st, tolerant and version_2005, warnings)
    if tolerant:
        data_time = cp.values.get("DataTime", "")
        if len(data_time) == 17 and data_time.isdigit():
            warnings.append(
                f"DataTime {data_time!r} has 17 digits (milliseconds); read as its first 14"
            )
    return frame(cp=cp, warnings=tuple(warnings), encrypted=encrypted, encoding=encoding)


def _header_fields(
    head: str, tolerant: bool, warnings: list[str]
) -> tuple[dict[str, str], dict[str, str], list[str], dict[str, str]]:
    """The header's fields by canonical key, the keys as sent, their order, fields unknown."""
    fields: dict[str, str] = {}
    raw_keys: dict[str, str] = {}  # canonical key -> spelling as sent
    order: list[str] = []
    extra: dict[str, str] = {}
    for item in head.split(";") if head else ():
        raw, sep, value = item.partition("=")
        if not sep:
            if not tolerant:
                raise FrameError(f"header item {item!r} is not key=value", field=raw or None)
            warnings.append(f"header item {item!r} is not key=value; ignored")
            continue
        key: str | None = raw if raw in _STD_KEYS else None
        if key is None:
            if not tolerant:
                raise FrameError(f"unknown header field {raw!r}", field=raw)
            key = _canonical_key(raw)
            if key is None:
                warnings.append(f"unknown header field {raw!r} kept as is")
                extra[raw] = value
                order.append(raw)
                continue
            warnings.append(f"header field {raw!r} read as {key!r}")
        if key in fields:
            if not tolerant:
                raise FrameError(f"header field {key!r} appears twice", field=key)
            warnings.append(f"header field {key!r} appears twice; kept the last value {value!r}")
            order.remove(raw_keys[key])
        fields[key] = value
        raw_keys[key] = raw
        order.append(raw)
    return fields, raw_keys, order, extra


def _tolerant_header_warnings(
    fields: Mapping[str, str], flag: int | None, warnings: list[str]
) -> None:
    """What a tolerated header departs from: fields missing, a long PW, undefined versions."""
    for key in ("ST", "PW"):
        if key not in fields:
            warnings.append(f"the header has no {key}")
    if "QN" not in fields:
        warnings.append("the header has no QN (HJ/T 212-2005 style)")
    pw = fields.get("PW", "")
    if len(pw) > 6:
        warnings.append(f"PW has {len(pw)} characters; the standard allows at most 6")
    if flag is not None and flag >> 2 not in VERSIONS:
        warnings.append(f"Flag={flag} sets version bits the standard does not define")


def _decrypt(frame: Frame, cp_text: str, key: bytes | None) -> tuple[str, str]:
    """SM4-encrypted CP in plain text, or a FrameError naming the device (with the header)."""
    header = replace(frame, encrypted=True)
    if key is None:
        raise FrameError(
            f"设备 MN={frame.mn} 的 CP 经 SM4 加密，未配置该设备的密钥 (CP of MN={frame.mn} is "
            "SM4-encrypted, HJ 212-2025, and no SM4 key is configured for this device)",
            reason="encrypted",
            field="CP",
            frame=header,
        )
    try:
        return sm4.decrypt_cp(cp_text, key)
    except ValueError as exc:
        raise FrameError(f"MN={frame.mn}: {exc}", reason="sm4", field="CP", frame=header) from None


def _int_field(
    text: str | None, raw_key: str, extra: dict[str, str], warnings: list[str]
) -> int | None:
    if text is None:
        return None
    if text.isdigit() and text.isascii():
        if str(int(text)) != text:
            extra[raw_key] = text  # keep `PNUM=0002` as sent
        return int(text)
    warnings.append(f"{raw_key}={text!r} is not a number; treated as absent")
    extra[raw_key] = text
    return None


def _check_strict(
    fields: Mapping[str, str], order: tuple[str, ...]
) -> tuple[int, int | None, int | None]:
    for key in _STRICT_ORDER:
        if key not in fields:
            raise FrameError(
                f"the header has no {key} (HJ/T 212-2005 frames need tolerant mode)", field=key
            )
    qn, st, cn = fields["QN"], fields["ST"], fields["CN"]
    if len(qn) != 17 or not qn.isdigit():
        raise FrameError(f"QN must be 17 digits (YYYYMMDDhhmmsszzz), got {qn!r}", field="QN")
    if len(st) != 2 or not st.isalnum() or not st.isascii():
        raise FrameError(f"ST must be 2 characters (Table 5), got {st!r}", field="ST")
    if len(cn) != 4 or not cn.isdigit():
        raise FrameError(f"CN must be 4 digits (Table 9), got {cn!r}", field="CN")
    if not 0 < len(fields["PW"]) <= 6:
        raise FrameError(f"PW must be 1 to 6 characters, got {fields['PW']!r}", field="PW")
    if not 0 < len(fields["MN"]) <= 24:
        raise FrameError(f"MN must be 1 to 24 characters, got {fields['MN']!r}", field="MN")
    text = fields["Flag"]
    if not text.isdigit() or not text.isascii() or int(text) > 255 or str(int(text)) != text:
        raise FrameError(f"Flag must be an integer 0-255, got {text!r}", field="Flag")
    flag = int(text)
    if flag >> 2 not in VERSIONS:
        raise FrameError(
            f"Flag={flag} sets version bits V5-V0={flag >> 2:06b}; HJ 212 defines 000000 "
            "(2005), 000001 (2017) and 000010 (2025); tolerant mode accepts it",
            field="Flag",
        )
    split = bool(flag & FLAG_D)
    if order != (_STRICT_ORDER_SPLIT if split else _STRICT_ORDER):
        want = ";".join(_STRICT_ORDER_SPLIT if split else _STRICT_ORDER)
        raise FrameError(
            f"header fields must be {want} in this order (Flag bit D is {int(split)}), got "
            f"{';'.join(order)} (tolerant mode accepts any order)",
            field="order",
        )
    if not split:
        return flag, None, None
    numbers = []
    for key in ("PNUM", "PNO"):
        value = fields[key]
        if not value.isdigit() or not value.isascii() or str(int(value)) != value:
            raise FrameError(f"{key} must be a positive integer, got {value!r}", field=key)
        numbers.append(int(value))
    pnum, pno = numbers
    if not 1 <= pno <= pnum:
        raise FrameError(f"PNO={pno} is outside 1..PNUM={pnum}", field="PNO")
    return flag, pnum, pno


# --- builders ------------------------------------------------------------------------------------

_qn_lock = threading.Lock()
_last_qn_ms = 0


def new_qn(now: dt.datetime | None = None) -> str:
    """A QN (YYYYMMDDhhmmsszzz, Beijing time); without `now`, strictly increasing per process."""
    global _last_qn_ms
    moment = timeutil.as_utc(now or timeutil.utcnow())
    ms = int(moment.replace(microsecond=0).timestamp()) * 1000 + moment.microsecond // 1000
    if now is None:
        with _qn_lock:
            ms = _last_qn_ms = max(ms, _last_qn_ms + 1)
        moment = timeutil.from_epoch_ms(ms)
    return timeutil.format_local(moment, "%Y%m%d%H%M%S") + f"{ms % 1000:03d}"


def version_flag(version: Version, *, ack: bool) -> int:
    """Flag for a frame of this standard version: 2017 -> 4/5, 2025 -> 8/9 (with A set)."""
    return (VERSION_BITS[version] << 2) | (FLAG_A if ack else 0)


def command_frame(
    cn: str,
    *,
    st: str,
    mn: str,
    pw: str,
    cp: Mapping[str, object] | Cp | str | None = None,
    qn: str | None = None,
    version: Version = "2025",
    ack: bool = False,
) -> Frame:
    """Any command as a frame, e.g. HJ 212-2025's 1001 hardware serial, 2013 raw data, 9015
    heartbeat: `cp` as `Cp.build` takes it, CP text or a Cp; Flag from `version` and `ack`."""
    if len(cn) != 4 or not cn.isdigit():
        raise ValueError(f"CN is 4 digits, not {cn!r}")
    return Frame(
        qn=qn or new_qn(),
        st=_check_text("ST", st),
        cn=cn,
        pw=_check_text("PW", pw),
        mn=_check_text("MN", mn),
        flag=version_flag(version, ack=ack),
        cp=cp
        if isinstance(cp, Cp)
        else Cp.parse(cp)
        if isinstance(cp, str)
        else Cp.build(cp or {}),
    )


def heartbeat_frame(
    *, st: str, mn: str, pw: str, qn: str | None = None, ack: bool = False
) -> Frame:
    """The HJ 212-2025 heartbeat (CN=9015, `CP=&&&&`), as public implementations send it."""
    return command_frame(HEARTBEAT_CN, st=st, mn=mn, pw=pw, qn=qn, ack=ack)


def data_frame(
    cn: str,
    *,
    st: str,
    mn: str,
    pw: str,
    data_time: dt.datetime,
    factors: Mapping[str, Mapping[str, object]],
    qn: str | None = None,
    ack: bool = True,
    extra_cp: Mapping[str, object] | None = None,
    version: Version = "2017",
) -> Frame:
    """A 2011/2051/2061/2031 upload frame from values.

    `data_time` is the sampling instant (2011) or the period start (2031/2051/2061); it is written
    in Beijing time. `factors` maps a factor code to {suffix: value}, e.g.
    `{"w01018": {"Avg": 12.5, "Flag": "N"}}`; None values are left out. `ack=True` sets Flag
    bit A (the platform must answer 9014): Flag=5 for HJ 212-2017, 9 for `version="2025"`.
    """
    if cn not in DATA_CNS:
        raise ValueError(f"data_frame builds CN {sorted(DATA_CNS)}, not {cn!r}")
    fields: dict[str, object] = {"DataTime": timeutil.format_local(data_time, "%Y%m%d%H%M%S")}
    fields.update(extra_cp or {})
    fields.update(factors)
    return command_frame(cn, st=st, mn=mn, pw=pw, cp=fields, qn=qn, version=version, ack=ack)


def _answer(request: Frame, cn: str, cp: Cp) -> Frame:
    # An answer speaks the request's version: Flag=8 to a 2025 frame, 4 otherwise.
    flag = version_flag("2025" if request.version == "2025" else "2017", ack=False)
    return Frame(
        qn=request.qn,
        st="91",
        cn=cn,
        pw=request.pw,
        mn=request.mn,
        flag=flag,
        cp=cp,
        encoding=request.encoding,
    )


def ack_frame(request: Frame) -> Frame:
    """The 9014 data answer: ST=91, CN=9014, the request's QN/PW/MN, Flag=4 (8 to a 2025
    frame), `CP=&&&&`."""
    return _answer(request, "9014", EMPTY_CP)


def notice_answer_frame(request: Frame) -> Frame:
    """The 9013 notice answer (e.g. to a 9015 heartbeat that asks for one), `CP=&&&&`."""
    return _answer(request, "9013", EMPTY_CP)


def answer_for(request: Frame) -> Frame | None:
    """What a receiving centre answers to a frame: nothing unless Flag bit A asks; a heartbeat
    (9015) gets the 9013 notice answer; other interaction commands (9xxx: answers, vendors'
    logins) none; any other frame the 9014 data answer."""
    if not request.needs_ack:
        return None
    if request.cn == HEARTBEAT_CN:
        return notice_answer_frame(request)
    return None if request.cn.startswith("9") else ack_frame(request)


def request_answer_frame(request: Frame, qn_rtn: int = 1) -> Frame:
    """The 9011 request answer with QnRtn (Table 7: 1 ready, 2 rejected, 3 PW error, ...)."""
    return _answer(request, "9011", Cp.build({"QnRtn": qn_rtn}))


def execution_answer_frame(request: Frame, exe_rtn: int = 1) -> Frame:
    """The 9012 execution result with ExeRtn (Table 6: 1 success, 2 failed, ...)."""
    return _answer(request, "9012", Cp.build({"ExeRtn": exe_rtn}))


# --- stream splitting ----------------------------------------------------------------------------


class FrameSplitter:
    """Cuts a TCP stream or a log into frames: resyncs on `##`, skips garbage, bounds memory.

    A frame ends at the CR LF where its length field says; failing that at the next CR LF (the
    length is wrong, which the parser will report) or, without CR LF, where the length says when
    `&&` sits there (LF-only logs, tolerant devices) or where the next `##` starts. Call `flush()`
    at end of input or after a quiet period to release a last frame that lacks its CR LF.

    A frame that declares, or grows to, more than `max_frame_bytes` is skipped: `oversized`
    counts them and `last_oversize` says why (the listener drops such connections).
    """

    def __init__(self, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.garbage_bytes = 0
        self.oversized = 0
        self.last_oversize = ""
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add bytes; return the frames they complete."""
        self._buf += data
        out: list[bytes] = []
        while (frame := self._next()) is not None:
            out.append(frame)
        return out

    def untailed_frame_ready(self) -> bool:
        """Whether the buffer holds a whole frame that only lacks its CR LF."""
        end = self._declared_end()
        return end is not None and len(self._buf) >= end and self._buf[end - 6 : end - 4] == b"&&"

    def flush(self) -> list[bytes]:
        """End of input: release frames that lack their CR LF (up to where the length says, or
        to the next `##`), and an unfinished frame at the very end as it is (the parser says
        what is wrong with it); only text that is no frame counts as garbage."""
        out: list[bytes] = []
        while True:
            end = self._declared_end()
            if end is not None and self.untailed_frame_ready():
                out.append(self._cut(end))
            elif end is not None and (nxt := self._buf.find(b"##", 6)) > 0:
                out.append(self._cut(nxt))
            elif _frame_attempt(self._buf):
                nxt = self._buf.find(b"##", 2)
                out.append(self._cut(nxt if nxt > 0 else len(self._buf)))
            else:
                break
            out.extend(self.feed(b""))
        self.garbage_bytes += len(self._buf)
        self._buf.clear()
        return out

    def _declared_end(self) -> int | None:
        buf = self._buf
        if len(buf) < 6 or buf[:2] != b"##" or not buf[2:6].isdigit():
            return None
        return 6 + int(buf[2:6]) + 4

    def _skip(self, n: int) -> None:
        self.garbage_bytes += n
        del self._buf[:n]

    def _cut(self, n: int) -> bytes:
        frame = bytes(self._buf[:n])
        del self._buf[:n]
        return frame

    def _oversize(self, why: str) -> None:
        self.oversized += 1
        self.last_oversize = why
        self._skip(2)  # drop this `##` and resync on the next one

    def _next(self) -> bytes | None:
        buf = self._buf
        limit = self.max_frame_bytes
        while True:
            start = buf.find(b"##")
            if start < 0:
                self._skip(len(buf) - (1 if buf.endswith(b"#") else 0))
                return None
            if start:
                self._skip(start)
            if len(buf) < 6:
                return None
            if not buf[2:6].isdigit():
                if not _frame_attempt(buf):
                    self._skip(1)
                    continue
                # `##12QN=...`: a frame with a broken length field, cut where it ends, so the
                # parser can say what is wrong with it.
                cut = _first_end(buf)
                if cut is not None:
                    return self._cut(cut)
                if len(buf) > limit:
                    self._oversize(f"{len(buf)} bytes without a frame end; the limit is {limit}")
                    continue
                return None
            end = 6 + int(buf[2:6]) + 4
            if end + 2 > limit:
                self._oversize(f"frame declares {end - 10} data bytes; the limit is {limit} bytes")
                continue
            crlf = buf.find(b"\r\n", 6)
            if crlf == end:
                return self._cut(end + 2)
            have = len(buf)
            # Where the length says, `&&` then the CRC, but no CR LF: a frame without its tail
            # (unless the CR is here and its LF still on the way).
            if (
                (have >= end + 2 or (have == end + 1 and buf[end] != 0x0D))
                and buf[end - 6 : end - 4] == b"&&"
                and buf[end : end + 2] != b"\r\n"
            ):
                return self._cut(end)
            nxt = buf.find(b"##", 6)
            if crlf >= 0 and (nxt < 0 or crlf < nxt):
                return self._cut(crlf + 2)  # ends early or late: the parser reports the length
            if nxt >= 0 and have >= end:
                return self._cut(nxt)  # no CR LF and a wrong length: cut before the next frame
            if have > limit:
                self._oversize(f"{have} bytes without a frame end; the limit is {limit} bytes")
                continue
            return None


def _frame_attempt(buf: bytes | bytearray) -> bool:
    """`##` then a digit or a header key: a frame, even if its length field is broken."""
    return buf[:2] == b"##" and (buf[2:3].isdigit() or bytes(buf[2:5]) in _HEADER_STARTS)


_HEADER_STARTS: Final = frozenset({b"QN=", b"ST=", b"CN="})


def _first_end(buf: bytes | bytearray) -> int | None:
    """Where a frame with a broken length field ends: after CR LF, or before the next `##`."""
    ends = []
    if (crlf := buf.find(b"\r\n", 2)) >= 0:
        ends.append(crlf + 2)
    if (nxt := buf.find(b"##", 2)) >= 0:
        ends.append(nxt)
    return min(ends) if ends else None


# --- split packets -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reassembled:
    """A frame rebuilt from split packets, with the packets (in PNO order) and their raw bytes."""

    frame: Frame
    packets: tuple[Frame, ...]
    raws: tuple[bytes, ...]


@dataclass(slots=True)
class _Group:
    started: float
    pnum: int
    packets: dict[int, tuple[Frame, bytes]]
    size: int = 0


class Reassembler:
    """Collects split packets (Flag bit D, PNUM/PNO) keyed by MN+QN+CN and rebuilds the frame.

    A resent packet replaces the earlier copy. Groups older than `timeout` seconds are dropped,
    and the oldest groups go first when more than `max_groups` or `max_bytes` are held, so a
    logger that never finishes cannot exhaust memory. `dropped` counts groups given up.
    """

    def __init__(
        self,
        *,
        timeout: float = 600.0,
        max_groups: int = 1000,
        max_bytes: int = 8 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.max_groups = max_groups
        self.max_bytes = max_bytes
        self.dropped = 0
        self._clock = clock
        self._groups: OrderedDict[tuple[str, str | None, str], _Group] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, packet: Frame, raw: bytes = b"") -> Reassembled | None:
        """Add one packet; returns the whole frame once every PNO of its group has arrived."""
        pnum, pno = packet.pnum, packet.pno
        if pnum is None or pno is None:
            raise FrameError("a split packet needs PNUM and PNO", field="PNUM")
        if not 1 <= pno <= pnum:
            raise FrameError(f"PNO={pno} is outside 1..PNUM={pnum}", field="PNO")
        now = self._clock()
        self.expire(now)
        if pnum == 1:
            return _merge((packet,), (raw,))
        key = packet.key
        group = self._groups.get(key)
        if group is not None and group.pnum != pnum:
            self._drop(key)
            group = None
        if group is None:
            group = self._groups[key] = _Group(now, pnum, {})
        old = group.packets.get(pno)
        change = _size(packet, raw) - (0 if old is None else _size(*old))
        group.packets[pno] = (packet, raw)
        group.size += change
        self._bytes += change
        if len(group.packets) == pnum:
            self._remove(key)
            ordered = [group.packets[i] for i in range(1, pnum + 1)]
            return _merge(tuple(p for p, _ in ordered), tuple(r for _, r in ordered))
        while self._groups and (
            len(self._groups) > self.max_groups or self._bytes > self.max_bytes
        ):
            self._drop(next(iter(self._groups)))
        return None

    def expire(self, now: float | None = None) -> int:
        """Drop groups older than the timeout; returns how many."""
        now = self._clock() if now is None else now
        stale = [k for k, g in self._groups.items() if now - g.started > self.timeout]
        for key in stale:
            self._drop(key)
        return len(stale)

    def _remove(self, key: tuple[str, str | None, str]) -> None:
        group = self._groups.pop(key)
        self._bytes -= group.size

    def _drop(self, key: tuple[str, str | None, str]) -> None:
        self._remove(key)
        self.dropped += 1


def _size(packet: Frame, raw: bytes) -> int:
    return len(raw) or len(packet.cp.text)


def _merge(packets: tuple[Frame, ...], raws: tuple[bytes, ...]) -> Reassembled:
    first = packets[0]
    texts = [first.cp.text]
    seen = dict(first.cp.values)
    for packet in packets[1:]:
        # Each packet repeats DataTime (and sometimes other plain keys); keep them once.
        kept = []
        for group in packet.cp.text.split(";"):
            items = [item.partition("=") for item in group.split(",")]
            if all("-" not in k and seen.get(k) == v for k, _, v in items):
                continue
            kept.append(group)
            seen.update((k, v) for k, _, v in items if "-" not in k)
        if kept:
            texts.append(";".join(kept))
    warnings: list[str] = []
    map_old = any(p.cp.source_codes for p in packets)
    cp = _parse_cp(";".join(t for t in texts if t), True, first.st, map_old, warnings)
    flag = None if first.flag is None else first.flag & ~FLAG_D
    order = tuple(k for k in first.order if _canonical_key(k) not in ("PNUM", "PNO"))
    merged = replace(
        first,
        flag=flag,
        pnum=None,
        pno=None,
        cp=cp,
        crc=None,
        crc_variant=None,
        warnings=tuple(itertools.chain.from_iterable(p.warnings for p in packets))
        + tuple(warnings),
        order=order,
        extra=tuple(kv for kv in first.extra if _canonical_key(kv[0]) not in ("PNUM", "PNO")),
    )
    return Reassembled(merged, packets, raws)


def frames_in(data: bytes | str, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> list[bytes]:
    """Every frame found in a log or capture (garbage skipped), e.g. for `hj212 decode`."""
    splitter = FrameSplitter(max_frame_bytes=max_frame_bytes)
    frames = splitter.feed(data.encode("utf-8") if isinstance(data, str) else data)
    return frames + splitter.flush()


def peek_mn(raw: bytes) -> str:
    """The MN of a raw frame without parsing it ("" when there is none), e.g. to pick options."""
    at = raw.find(b"MN=")
    if at < 0:
        return ""
    stop = raw.find(b";", at)
    return raw[at + 3 : stop if stop >= 0 else len(raw)].decode("utf-8", "replace")


def describe_flag(flag: int | None) -> dict[str, Any]:
    """Flag split into its bits, for people: version, split (D) and ack (A)."""
    if flag is None:
        return {"version": "2005", "split": False, "ack": False}
    return {
        "version": VERSIONS.get(flag >> 2, f"V={flag >> 2:06b}"),
        "split": bool(flag & FLAG_D),
        "ack": bool(flag & FLAG_A),
    }
