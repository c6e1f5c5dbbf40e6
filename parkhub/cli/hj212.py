"""HJ 212 tools for debugging a data logger on site: frames to JSON (`decode`) and back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from parkhub.canonical import jsonutil

from .root import print_json


def hj212_decode(
    file: Annotated[str, typer.Argument(help="a log or capture file, or - for stdin")] = "-",
    strict: Annotated[bool, typer.Option(help="refuse non-standard frames")] = False,
) -> None:
    """Print each HJ 212 frame found in FILE as one JSON object (fields, CP, crc_ok)."""
    from parkhub.protocols.hj212 import decode_lines

    data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    for obj in decode_lines(data, tolerant=not strict):
        print_json(obj)


def hj212_encode(
    file: Annotated[str, typer.Argument(help="JSON object(s), one per line, or - for stdin")] = "-",
) -> None:
    """Build HJ 212 frames (CRC and length computed) from JSON such as `decode` prints."""
    from parkhub.protocols.hj212 import encode_from_json

    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip():
            sys.stdout.buffer.write(encode_from_json(jsonutil.loads(line)))
