"""Property tests: valid frames round-trip; arbitrary bytes only ever raise FrameError."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from parkhub.protocols.hj212 import (
    Cp,
    Frame,
    FrameError,
    FrameSplitter,
    crc16,
    encode_frame,
    parse_frame,
)

SAFE = st.characters(codec="ascii", categories=("L", "N"), include_characters="._-")
value = st.text(SAFE, max_size=10) | st.decimals(-1e6, 1e6, places=3).map(str)
code = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
suffix = st.sampled_from(["Rtd", "Avg", "Min", "Max", "Cou", "ZsAvg", "Flag", "SampleTime"])
factor = st.dictionaries(suffix, value, min_size=1, max_size=4)
plain_key = st.sampled_from(["DataTime", "RtdInterval", "QnRtn", "ExeRtn", "BeginTime", "PolId"])
cp_fields = st.dictionaries(plain_key, value, max_size=3).flatmap(
    lambda plain: st.dictionaries(code, factor, max_size=6).map(lambda fs: {**plain, **fs})
)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    split = draw(st.booleans())
    pnum = draw(st.integers(1, 20)) if split else None
    return Frame(
        qn=draw(st.text("0123456789", min_size=17, max_size=17)),
        st=draw(st.sampled_from(["21", "22", "31", "32", "91", "A1"])),
        cn=draw(st.sampled_from(["2011", "2051", "2061", "2031", "9014", "1062"])),
        pw=draw(st.text(SAFE, min_size=1, max_size=6)),
        mn=draw(st.text(SAFE, min_size=1, max_size=24)),
        flag=4 | draw(st.integers(0, 1)) | (2 if split else 0),
        pnum=pnum,
        pno=draw(st.integers(1, pnum)) if pnum else None,
        cp=Cp.build(draw(cp_fields)),
    )


@settings(max_examples=300, deadline=None)
@given(frames())
def test_valid_frames_round_trip_strictly(frame: Frame) -> None:
    raw = encode_frame(frame)
    back = parse_frame(raw)
    assert encode_frame(back) == raw
    assert (back.qn, back.st, back.cn, back.pw, back.mn, back.flag, back.pnum, back.pno) == (
        frame.qn,
        frame.st,
        frame.cn,
        frame.pw,
        frame.mn,
        frame.flag,
        frame.pnum,
        frame.pno,
    )
    assert back.cp == frame.cp and back.cp.factors == frame.cp.factors
    assert back.crc == crc16(raw[6:-6])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_only_raise_frame_error(data: bytes, tolerant: bool) -> None:
    for candidate in (data, b"##" + data, b"##%04d" % len(data) + data):
        with contextlib.suppress(FrameError):
            encode_frame(parse_frame(candidate, tolerant=tolerant))


@settings(max_examples=300, deadline=None)
@given(frames(), st.data(), st.booleans())
def test_corrupted_frames_only_raise_frame_error(
    frame: Frame, data: st.DataObject, tol: bool
) -> None:
    raw = bytearray(encode_frame(frame))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    try:
        frame = parse_frame(bytes(raw), tolerant=tol)
    except FrameError:
        return
    encode_frame(frame)  # whatever was accepted can be written back


@settings(max_examples=200, deadline=None)
@given(st.lists(frames(), min_size=1, max_size=4), st.data())
def test_splitter_recovers_every_frame_from_any_chunking(
    batch: list[Frame], data: st.DataObject
) -> None:
    raws = [encode_frame(f) for f in batch]
    garbage = data.draw(st.binary(max_size=20).filter(lambda g: b"#" not in g))
    stream = garbage.join(raws)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    splitter = FrameSplitter()
    got: list[bytes] = []
    for lo, hi in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += splitter.feed(stream[lo:hi])
    assert got == raws


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["Flag", "PNUM", "QN", "MN", "X"]), st.booleans())
def test_odd_header_values_are_read_and_written_back(text: str, key: str, tol: bool) -> None:
    header = {"QN": "20260101000000000", "ST": "32", "CN": "2011", "PW": "1", "MN": "M"}
    header[key] = text.translate({ord(c): None for c in ";=&\r\n"})
    seg = ("".join(f"{k}={v};" for k, v in header.items()) + "CP=&&&&").encode()
    raw = b"##%04d%s%s\r\n" % (len(seg), seg, crc16(seg).encode())
    try:
        frame = parse_frame(raw, tolerant=tol)
    except FrameError:
        return
    assert encode_frame(frame) == raw
