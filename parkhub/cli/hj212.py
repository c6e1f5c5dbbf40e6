"""HJ 212 tools for debugging a data logger on site: frames to JSON (`decode`) and back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from parkhub.canonical import jsonutil

from .root import fail, print_json


def _read(file: str) -> bytes:
    """The bytes of FILE (or stdin for -), or exit 2 naming what is wrong with it."""
    if file == "-":
        return sys.stdin.buffer.read()
    path = Path(file)
    if path.is_dir():
        fail(f"这是文件夹 (a folder, not a file: {file})")
    if not path.is_file():
        fail(f"没有这个文件 (no such file: {file})")
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"无法读取 (cannot read {file}: {exc.strerror})")


SM4_HELP = "HJ 212-2025 SM4 key of the logger, as env:NAME or file:NAME (never the key)"


def _sm4_key(reference: str | None) -> bytes | None:
    from parkhub.protocols.hj212.sm4 import key_bytes
    from parkhub.secrets import resolve_secret

    if reference is None:
        return None
    try:
        return key_bytes(resolve_secret(reference).get_secret_value())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sm4-key") from None


def hj212_decode(
    file: Annotated[str, typer.Argument(help="a log or capture file, or - for stdin")] = "-",
    strict: Annotated[bool, typer.Option(help="refuse non-standard frames")] = False,
    sm4_key: Annotated[str | None, typer.Option(help=SM4_HELP)] = None,
) -> None:
    """Print each HJ 212 frame found in FILE as one JSON object (fields, CP, crc_ok), also
    those that cannot be read (ok false, with the error)."""
    from parkhub.protocols.hj212 import decode_lines

    key = _sm4_key(sm4_key)
    found = 0
    for obj in decode_lines(_read(file), tolerant=not strict, sm4_key=key):
        print_json(obj)
        found += 1
    if not found:
        fail(f"没有找到 HJ 212 报文 (no HJ 212 frame in {file}: frames start with ##)")


def hj212_encode(
    file: Annotated[str, typer.Argument(help="JSON object(s), one per line, or - for stdin")] = "-",
    sm4_key: Annotated[str | None, typer.Option(help=SM4_HELP)] = None,
) -> None:
    """Build HJ 212 frames (CRC and length computed) from JSON such as `decode` prints."""
    from parkhub.protocols.hj212 import encode_from_json

    key = _sm4_key(sm4_key)
    text = _read(file).decode("utf-8", errors="replace")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            frame = encode_from_json(jsonutil.loads(line), sm4_key=key)
        except jsonutil.JSONDecodeError as exc:
            fail(f"line {n}: not JSON ({exc})")
        except (KeyError, TypeError, ValueError) as exc:
            fail(f"line {n}: cannot build a frame ({type(exc).__name__}: {exc})")
        sys.stdout.buffer.write(frame)
