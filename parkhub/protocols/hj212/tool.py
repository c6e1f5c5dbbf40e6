"""Pure functions behind `parkhub hj212 decode` and `parkhub hj212 encode`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .codec import (
    CN_NAMES,
    Cp,
    Frame,
    FrameError,
    _parse,
    describe_flag,
    encode_frame,
    frames_in,
    new_qn,
)


def decode_lines(data: str | bytes, tolerant: bool = True) -> Iterator[dict[str, Any]]:
    """One JSON-able dict per frame found in a log, capture or stream (other text is skipped).

    Keys: raw, ok, error, length, crc, crc_ok, crc_variant, qn, st, cn, cn_name, pw, mn, flag,
    flag_bits, pnum, pno, version, data_time (UTC ISO), cp (plain keys, then factor -> {suffix:
    value}), source_codes, warnings. A frame with a wrong CRC still shows its fields, with
    crc_ok false and the error; other unreadable frames carry raw, ok=false and error only.
    """
    for raw in frames_in(data):
        yield decode_frame(raw, tolerant=tolerant)


def decode_frame(raw: bytes, tolerant: bool = True) -> dict[str, Any]:
    """The dict `decode_lines` gives for one frame."""
    out: dict[str, Any] = {"raw": raw.decode("utf-8", "replace").rstrip("\r\n"), "ok": True}
    try:
        frame = _parse(raw, tolerant, True)
        out["error"] = None
    except FrameError as exc:
        out.update(ok=False, error=str(exc), crc_ok=None)
        if exc.reason != "crc":
            return out
        try:
            frame = _parse(raw, tolerant, False)
        except FrameError:
            return out
        out.update(crc_ok=False, crc_expected=exc.expected)
    out.update(_fields(frame))
    out["length"] = int(raw[2:6])
    if out["ok"]:
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
        "pw": frame.pw,
        "mn": frame.mn,
        "flag": frame.flag,
        "flag_bits": describe_flag(frame.flag),
        "pnum": frame.pnum,
        "pno": frame.pno,
        "version": frame.version,
        "data_time": data_time,
        "cp": frame.cp.as_dict(),
        "source_codes": dict(frame.cp.source_codes),
        "warnings": list(frame.warnings),
    }


_REQUIRED = ("st", "cn", "pw", "mn")


def encode_from_json(obj: Mapping[str, Any]) -> bytes:
    """Frame bytes from a dict shaped like `decode_lines` output (extra keys are ignored).

    Needs st, cn, pw, mn; cp is {key: value, factor: {suffix: value}} or raw CP text. A missing
    qn gets a fresh one (give `"qn": null` for a 2005-style frame without QN); a missing flag is 4
    (2017, no answer wanted). `crc_variant` may be "modbus-swapped" to imitate such loggers.
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
    if variant == "modbus-swapped":
        return encode_frame(frame, crc_variant="modbus-swapped")
    if variant != "hj212":
        raise ValueError(f"crc_variant must be 'hj212' or 'modbus-swapped', not {variant!r}")
    return encode_frame(frame)


def _opt_int(obj: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = obj.get(key, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be an integer, not {value!r}") from None
