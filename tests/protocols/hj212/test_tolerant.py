"""Tolerant mode: one test per real-world quirk, each on a fixture named after it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from parkhub.protocols.hj212 import FrameError, encode_frame, parse_frame

Load = Callable[..., bytes]


def round_trips(raw: bytes) -> bool:
    frame = parse_frame(raw, tolerant=True)
    return encode_frame(frame, crc_variant=frame.crc_variant or "hj212") == raw


def test_lower_case_crc(frame_bytes: Load) -> None:
    raw = frame_bytes("lower_case_crc_cc01")
    with pytest.raises(FrameError, match="lower case"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.crc == "cc01" and frame.crc_variant == "hj212"
    assert any("lower case" in w for w in frame.warnings)
    # Encoding writes the CRC in upper case; everything else is byte for byte the same.
    assert encode_frame(frame) == raw[:-6] + b"CC01\r\n"


def test_flag_9_is_hj212_2025_in_both_modes(frame_bytes: Load) -> None:
    raw = frame_bytes("flag_9")
    for tolerant in (False, True):
        frame = parse_frame(raw, tolerant=tolerant)
        assert frame.flag == 9 and frame.needs_ack and frame.version == "2025"
        assert frame.warnings == ()
    assert round_trips(raw)


def test_flag_8_on_a_9014_answer(frame_bytes: Load) -> None:
    frame = parse_frame(frame_bytes("9014_data_answer_flag8"), tolerant=True)
    assert (frame.cn, frame.flag, frame.needs_ack, frame.crc) == ("9014", 8, False, "0140")


def test_fields_reordered_st_cn_qn(frame_bytes: Load) -> None:
    raw = frame_bytes("fields_reordered_st_cn_qn")
    with pytest.raises(FrameError, match="in this order"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.qn == "20220513162608370" and frame.cp.factors["a21026"]["Avg"] == "6"
    assert frame.order == ("ST", "CN", "QN", "PW", "MN", "Flag")
    assert round_trips(raw)


def test_fields_reordered_pno_pnum_zero_padded_without_flag(frame_bytes: Load) -> None:
    raw = frame_bytes("fields_reordered_pno_pnum_2800")
    frame = parse_frame(raw, tolerant=True)
    assert (frame.pnum, frame.pno, frame.flag, frame.is_split) == (2, 2, None, True)
    assert round_trips(raw)  # PNO=0002 is written back as sent


def test_2005_frame_without_qn_and_flag(frame_bytes: Load) -> None:
    raw = frame_bytes("2005_no_qn_flag_7700")
    with pytest.raises(FrameError, match="no QN"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert (frame.qn, frame.flag, frame.version, frame.needs_ack) == (None, None, "2005", False)
    # ST=31 is a gas source: 3-digit codes are the device's own, not old water codes.
    assert "023" in frame.cp.factors and not frame.cp.source_codes
    assert round_trips(raw)


def test_2005_water_frame_old_codes_are_translated(frame_bytes: Load) -> None:
    raw = frame_bytes("2005_water_old_codes_2940")
    frame = parse_frame(raw, tolerant=True)
    assert frame.mn == "88888881234567" and frame.flag == 0 and frame.version == "2005"
    assert frame.cp.factors["w01018"] == {"Rtd": "134.119", "Flag": "N"}  # was 011 (COD)
    assert frame.cp.factors["w21003"]["Rtd"] == "23.400"  # was 060 (ammonia-N)
    assert frame.cp.factors["w00000"]["Rtd"] == "382.222"  # was B01 (flow)
    assert frame.cp.factors["B00"]["Rtd"] == "156720160.000"  # unknown: passed through
    assert frame.cp.source_codes == {
        "w01001": "001",
        "w21003": "060",
        "w01018": "011",
        "w00000": "B01",
    }
    assert any("',MN'" in w for w in frame.warnings) and any("'FLAG'" in w for w in frame.warnings)
    assert round_trips(raw)  # `;,MN=` and `FLAG=0` are kept as sent


def test_2005_split_packet_with_old_gas_codes(frame_bytes: Load) -> None:
    frame = parse_frame(frame_bytes("2005_split_old_gas_codes_ab41"), tolerant=True)
    assert (frame.flag, frame.pnum, frame.pno, frame.is_split) == (2, 2, 1, True)
    assert frame.cp.source_codes["a21026"] == "02" and frame.cp.source_codes["a34013"] == "01"
    assert frame.cp.factors["a00000"]["Flag"] == "D"  # B02
    assert "30" in frame.cp.factors  # not an Annex B gas code: passed through


def test_modbus_swapped_crc(frame_bytes: Load) -> None:
    raw = frame_bytes("modbus_swapped_crc_a6ec")
    with pytest.raises(FrameError, match=r"'A6EC'.*'0440'"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.crc == "A6EC" and frame.crc_variant == "modbus-swapped"
    assert any("MODBUS" in w for w in frame.warnings)
    assert round_trips(raw)


def test_long_segment_1025(frame_bytes: Load) -> None:
    raw = frame_bytes("long_segment_1025")
    with pytest.raises(FrameError, match="at most 1024"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert len(frame.cp.factors) == 36 and frame.crc_variant == "modbus-swapped"
    assert round_trips(raw)


def test_nonstandard_st_101(frame_bytes: Load) -> None:
    raw = frame_bytes("st101_nonstandard_3300")
    frame = parse_frame(raw, tolerant=True)
    assert frame.st == "101" and "ua19004" in frame.cp.factors
    assert round_trips(raw)


def test_cp_bare_flag(frame_bytes: Load) -> None:
    raw = frame_bytes("cp_bare_flag")
    with pytest.raises(FrameError, match="no factor code"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.cp.factors["a21026"] == {"Avg": "6", "Flag": "N"}
    assert any("bare 'Flag=N'" in w for w in frame.warnings)
    assert round_trips(raw)


def test_header_flag_n(frame_bytes: Load) -> None:
    raw = frame_bytes("header_flag_n")
    with pytest.raises(FrameError, match="Flag must be an integer"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.flag is None and frame.version == "2005" and not frame.needs_ack
    assert any("Flag='N'" in w for w in frame.warnings)
    assert round_trips(raw)


def test_duplicate_keys_last_wins_with_a_warning(frame_bytes: Load) -> None:
    raw = frame_bytes("duplicate_keys")
    with pytest.raises(FrameError, match="appears twice"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.cp.values["DataTime"] == "20220513162600"
    assert frame.cp.factors["a21026"] == {"Avg": "7", "Flag": "N"}
    assert sum("appears twice" in w for w in frame.warnings) == 2
    assert round_trips(raw)  # the text is kept as sent; only the parsed view dedups


def test_missing_crlf(frame_bytes: Load) -> None:
    raw = frame_bytes("missing_crlf", crlf=False)
    with pytest.raises(FrameError, match="CR LF"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.cn == "1062" and any("CR LF" in w for w in frame.warnings)
    assert encode_frame(frame) == raw + b"\r\n"


def test_length_counting_characters_not_bytes() -> None:
    from parkhub.protocols.hj212 import crc16

    seg = "QN=20260101000000000;ST=32;CN=3020;PW=123456;MN=M1;Flag=4;CP=&&i13004-Info=温州&&"
    data = seg.encode()
    raw = b"##%04d%s%s\r\n" % (len(seg), data, crc16(data).encode())  # characters, not bytes
    with pytest.raises(FrameError, match="bytes"):
        parse_frame(raw)
    frame = parse_frame(raw, tolerant=True)
    assert frame.cp.factors["i13004"]["Info"] == "温州"
    assert any("characters" in w for w in frame.warnings)


def test_tolerant_still_refuses_what_cannot_be_read(frame_bytes: Load) -> None:
    from parkhub.protocols.hj212 import crc16

    seg = b"ST=32;CN=2011;CP=&&&&"
    with pytest.raises(FrameError, match="no MN"):
        parse_frame(b"##0021" + seg + crc16(seg).encode() + b"\r\n", tolerant=True)
    with pytest.raises(FrameError, match="CRC mismatch"):
        parse_frame(frame_bytes("bad_crc_4981"), tolerant=True)


def test_a_frame_ending_in_lf_or_a_nul_is_read(frame_bytes: Load) -> None:
    raw = frame_bytes("annex_a_1062", crlf=False)
    for tail in (b"\n", b"\r", b"\x00", b"\r\n\x00"):
        frame = parse_frame(raw + tail, tolerant=True)
        assert frame.cp.get("RtdInterval") == "30" and any("CR LF" in w for w in frame.warnings)
        with pytest.raises(FrameError, match="CR LF"):
            parse_frame(raw + tail)


def test_data_time_with_separators_or_milliseconds() -> None:
    import datetime as dt

    from parkhub.protocols.hj212 import Cp

    expected = dt.datetime(2020, 9, 23, 3, 17, 7, tzinfo=dt.UTC)  # 11:17:07 in Beijing
    for text in (
        "20200923111707",
        "20200923111707000",
        "2020-09-23 11:17:07",
        "2020-09-23T11:17:07",
    ):
        assert Cp.parse(f"DataTime={text}").time() == expected
    with pytest.raises(FrameError, match="YYYYMMDDhhmmss"):
        Cp.parse("DataTime=2020-09-23").time()
