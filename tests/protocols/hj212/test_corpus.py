"""The corpus of real frames (tests/fixtures/hj212/corpus/real_frames.txt): every frame whose
CRC and length are right decodes in the default (tolerant) mode, saying what it forgave; every
broken one is refused for its reason; `decode` shows every one of them."""

from __future__ import annotations

import pytest

from parkhub.protocols.hj212 import FrameError, decode_lines, encode_frame, parse_frame
from tests.helpers import HJ212_CORPUS, CorpusFrame, hj212_corpus

CASES = hj212_corpus()
GOOD = [c for c in CASES if c.expect == "ok"]
BROKEN = [c for c in CASES if c.expect != "ok"]
REASONS = {"crc": ("crc", "CRC"), "length": ("length", "length"), "mn": ("field", "MN")}


def test_the_corpus_holds_30_real_frames_each_with_its_source() -> None:
    assert len(GOOD) >= 30 and len(BROKEN) >= 5
    assert len({c.name for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.source and case.expect in ("ok", *REASONS), case.name


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c.name)
def test_a_frame_with_the_right_crc_and_length_decodes_by_default(case: CorpusFrame) -> None:
    frame = parse_frame(case.raw, tolerant=True)
    # and is written back as it came (the CRC in upper case)
    encoded = encode_frame(frame, crc_variant=frame.crc_variant or "hj212")
    assert encoded[:-6] == case.raw[:-6] and encoded[-6:] == case.raw[-6:].upper()


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: c.name)
def test_a_broken_frame_is_refused_for_its_reason(case: CorpusFrame) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(case.raw, tolerant=True)
    assert (caught.value.reason, caught.value.field) == REASONS[case.expect]


def test_decode_prints_one_object_for_every_frame_of_the_corpus() -> None:
    rows = list(decode_lines(HJ212_CORPUS.read_bytes()))
    assert [row["ok"] for row in rows] == [c.expect == "ok" for c in CASES]
    for row, case in zip(rows, CASES, strict=True):
        assert row["raw"].startswith(case.frame[:40]), case.name
        if case.expect != "ok":
            assert row["error_reason"] == REASONS[case.expect][0], case.name


def test_real_quirks_each_come_with_a_warning() -> None:
    frames = {c.name: parse_frame(c.raw, tolerant=True) for c in GOOD}

    def warned(name: str, text: str) -> bool:
        return any(text in w for w in frames[name].warnings)

    assert warned("2061_air_pw24_c181", "PW has 24 characters")
    assert warned("2005_no_qn_flag_7700", "no QN")
    assert warned("lower_case_crc_cc01", "lower case")
    assert warned("modbus_swapped_crc_a6ec", "low byte first")
    assert warned("1072_set_password_modbus_e476", "CRC-16/MODBUS, not HJ 212")
    assert warned("long_segment_1025", "at most 1024")
    assert warned("9015_heartbeat_2005_ms_datatime_8801", "17 digits")
    assert warned("2011_air_flag7_trailing_semicolon_c0c1", "empty item")
    assert warned("2011_flue_gas_duplicate_flags_e8c1", "appears twice")
    assert frames["2011_water_flag9_1540"].version == "2025"
    assert frames["2011_water_flag9_1540"].warnings == ()  # a 2025 frame is no quirk
