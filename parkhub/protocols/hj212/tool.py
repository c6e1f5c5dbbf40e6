"""Pure functions behind `parkhub hj212 decode` and `parkhub hj212 encode`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .codec import (
    CN_NAMES,
    Cp,
    CrcVariant,
    Frame,
    FrameError,
    _parse,
    describe_flag,
    encode_frame,
    frames_in,
    new_qn,
)
from .codes import ST_NAMES


def decode_lines(
    data: str | bytes, tolerant: bool = True, sm4_key: bytes | None = None
) -> Iterator[dict[str, Any]]:
    """One JSON-able dict per frame found in a log, capture or stream (other text is skipped),
    readable or not.

    Keys: raw, ok, error, error_reason, length, crc, crc_ok, crc_variant, qn, st, st_name, cn,
    cn_name, pw, mn, flag, flag_bits, pnum, pno, version, encrypted, encoding, data_time (UTC
    ISO), cp (plain keys, then factor -> {suffix: value}), source_codes, warnings. A frame with
    a wrong CRC, or whose CP cannot be read (SM4 without a key, text in no known encoding),
    still shows its header, with the error; other unreadable frames carry raw, ok=false and the
    error only. `sm4_key` decrypts SM4-encrypted CP.
    """
    for raw in frames_in(data):
        yield decode_frame(raw, tolerant=tolerant, sm4_key=sm4_key)


def decode_frame(raw: bytes, tolerant: bool = True, sm4_key: bytes | None = None) -> dict[str, Any]:
    """The dict `decode_lines` gives for one frame."""
    out: dict[str, Any] = {"raw": raw.decode("utf-8", "replace").rstrip("\r\n"), "ok": True}
    try:
        frame = _parse(raw, tolerant, True, sm4_key)
        out.update(error=None, error_reason=None)
    except FrameError as exc:
        out.update(ok=False, error=str(exc), error_reason=exc.reason, crc_ok=None)
        if exc.frame is not None:
            frame = exc.frame
        elif exc.reason != "crc":
            return out
        else:
            try:
                frame = _parse(raw, tolerant, False, sm4_key)
            except FrameError:
                return out
            out.update(crc_ok=False, crc_expected=exc.expected)
    out.update(_fields(frame))
    out["raw"] = raw.decode(frame.encoding, "replace").rstrip("\r\n")
    out["length"] = int(raw[2:6])
    if out.get("crc_ok") is None:
        out["crc_ok"] = True
    return out


def _fields(frame: Frame) -> dict[str, Any]:
    data_time = None
    try:
        if (moment := frame.data_time) is not None:
            data_time = moment.isoformat()
    except FrameError:
        pass
    return {
        "crc": frame.crc,
        "crc_variant": frame.crc_variant,
        "qn": frame.qn,
        "st": frame.st,
        "cn": frame.cn,
        "cn_name": CN_NAMES.get(frame.cn),
        "st_name": ST_NAMES.get(frame.st),
        "pw": frame.pw,
        "mn": frame.mn,
        "flag": frame.flag,
        "flag_bits": describe_flag(frame.flag),
        "pnum": frame.pnum,
        "pno": frame.pno,
        "version": frame.version,
        "encrypted": frame.encrypted,
        "encoding": frame.encoding,
        "data_time": data_time,
        "cp": frame.cp.as_dict(),
        "source_codes": dict(frame.cp.source_codes),
        "warnings": list(frame.warnings),
    }


_REQUIRED = ("st", "cn", "pw", "mn")


def encode_from_json(obj: Mapping[str, Any], sm4_key: bytes | None = None) -> bytes:
    """Frame bytes from a dict shaped like `decode_lines` output (extra keys are ignored).

    Needs st, cn, pw, mn; cp is {key: value, factor: {suffix: value}} or raw CP text. A missing
    qn gets a fresh one (give `"qn": null` for a 2005-style frame without QN); a missing flag is 4
    (2017, no answer wanted; 8 or 9 for HJ 212-2025). `crc_variant` may be "modbus-swapped" or
    "modbus" to imitate such loggers. With `sm4_key` the CP is SM4-encrypted (HJ 212-2025).
    """
    missing = [k for k in _REQUIRED if obj.get(k) in (None, "")]
    if missing:
        raise ValueError(f"encode needs {', '.join(missing)}")
    cp_in = obj.get("cp") or {}
    if isinstance(cp_in, str):
        cp = Cp.parse(cp_in)
    elif isinstance(cp_in, Mapping):
        cp = Cp.build(cp_in)
    else:
        raise ValueError(f"cp must be an object or CP text, not {type(cp_in).__name__}")
    frame = Frame(
        qn=obj["qn"] if "qn" in obj else new_qn(),
        st=str(obj["st"]),
        cn=str(obj["cn"]),
        pw=str(obj["pw"]),
        mn=str(obj["mn"]),
        flag=_opt_int(obj, "flag", 4),
        pnum=_opt_int(obj, "pnum", None),
        pno=_opt_int(obj, "pno", None),
        cp=cp,
    )
    variant = obj.get("crc_variant") or "hj212"
    if variant not in _VARIANTS:
        raise ValueError(f"crc_variant must be one of {', '.join(_VARIANTS)}, not {variant!r}")
    return encode_frame(frame, crc_variant=_VARIANTS[variant], sm4_key=sm4_key)


_VARIANTS: dict[str, CrcVariant] = {
    "hj212": "hj212",
    "modbus-swapped": "modbus-swapped",
    "modbus": "modbus",
}


def _opt_int(obj: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = obj.get(key, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be an integer, not {value!r}") from None
