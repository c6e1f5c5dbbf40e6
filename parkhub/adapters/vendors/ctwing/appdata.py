"""Decoders of CTWing `APPdata`: the pass-through payload of transparent products, whose layout
only the device maker knows (set per product in the source config, or registered in code)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parkhub.canonical.jsonutil import loads

AppDataCodec = Callable[[bytes], Mapping[str, Any]]
"""Decodes a transparent (`APPdata`) payload into key → value, keys as in the device map."""

_CODECS: dict[str, AppDataCodec] = {}


def register_appdata_codec(product_id: str, codec: AppDataCodec) -> None:
    """Decode the `APPdata` pass-through payloads of product `product_id` with `codec`.

    For example `register_appdata_codec("10053421", struct_appdata(">BBH", ["h1", "h2", "len"]))`.
    A source's `appdata:` config, when it names the product, takes precedence.
    """
    _CODECS[str(product_id)] = codec


def registered_codec(product_id: str) -> AppDataCodec | None:
    return _CODECS.get(product_id)


def json_appdata(data: bytes) -> dict[str, Any]:
    """Codec for devices that send a JSON object as their pass-through payload."""
    value = loads(data)
    if not isinstance(value, dict):
        raise ValueError("APPdata JSON is not an object")
    return value


def struct_appdata(fmt: str, fields: Sequence[str], *, ascii_hex: bool = False) -> AppDataCodec:
    """Codec for fixed binary frames: `struct` format `fmt`, one key per unpacked field.

    `ascii_hex` first turns hex text (what many NB modules send) into bytes.

    >>> codec = struct_appdata(">BhB", ["Alarm_Status", "TData", "Battery_Level"])
    >>> codec(bytes.fromhex("02001e64"))
    {'Alarm_Status': 2, 'TData': 30, 'Battery_Level': 100}
    """
    layout = struct.Struct(fmt)
    names = list(fields)
    if len(layout.unpack(bytes(layout.size))) != len(names):
        raise ValueError(f"struct format {fmt!r} does not give {len(names)} fields")

    def decode(data: bytes) -> dict[str, Any]:
        raw = bytes.fromhex(data.decode("ascii").strip()) if ascii_hex else data
        return dict(zip(names, layout.unpack(raw[: layout.size]), strict=True))

    return decode


class AppDataSpec(BaseModel):
    """How a product's `APPdata` pass-through payload is decoded (set in YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: Literal["json", "struct"]
    format: str | None = Field(None, description="struct format, e.g. >BhB (big-endian)")
    fields: list[str] = Field(default_factory=list, description="struct: key of each field")
    ascii_hex: bool = Field(False, description="struct: payload is hex text, not bytes")

    @model_validator(mode="after")
    def _check(self) -> AppDataSpec:
        if self.codec == "struct":
            if not self.format or not self.fields:
                raise ValueError("struct 解码需配置 format 与 fields (struct needs format, fields)")
            try:
                struct_appdata(self.format, self.fields)
            except (struct.error, ValueError) as exc:
                raise ValueError(f"struct format 无效 (bad struct format: {exc})") from None
        return self

    def codec_fn(self) -> AppDataCodec:
        if self.codec == "json":
            return json_appdata
        assert self.format is not None
        return struct_appdata(self.format, self.fields, ascii_hex=self.ascii_hex)
