"""HJ 212 codec on real frames: CRC, strict parsing, encoding, builders, splitter, reassembly."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from parkhub.protocols.hj212 import (
    Cp,
    Frame,
    FrameError,
    FrameSplitter,
    Reassembler,
    ack_frame,
    crc16,
    data_frame,
    encode_frame,
    execution_answer_frame,
    modbus_swapped_crc,
    new_qn,
    parse_frame,
    request_answer_frame,
)

Load = Callable[..., bytes]
ANNEX_A_SEGMENT = (
    b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&RtdInterval=30&&"
)


def reference_crc(data: bytes) -> str:
    """Annex A exactly as printed, bit by bit."""
    reg = 0xFFFF
    for b in data:
        reg = (reg >> 8) ^ b
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
    return f"{reg:04X}"


def segment_of(raw: bytes) -> bytes:
    return raw[6 : 6 + int(raw[2:6])]


# --- CRC -----------------------------------------------------------------------------------------


def test_crc16_gives_the_official_annex_a_vector() -> None:
    assert crc16(ANNEX_A_SEGMENT) == "1C80"


def test_crc16_matches_the_bitwise_algorithm_at_every_length() -> None:
    rng = random.Random(212)
    for n in [*range(0, 140), 411, 1025, 4000]:
        data = bytes(rng.randrange(256) for _ in range(n))
        assert crc16(data) == reference_crc(data), n


def test_crc16_is_not_modbus() -> None:
    assert modbus_swapped_crc(ANNEX_A_SEGMENT) != "1C80"
    # CRC-16/MODBUS check value for "123456789" is 0x4B37, printed low byte first here.
    assert modbus_swapped_crc(b"123456789") == "374B"


def test_crc16_has_only_256_values_as_formats_md_warns() -> None:
    rng = random.Random(7)
    values = {crc16(rng.randbytes(rng.randrange(1, 60))) for _ in range(3000)}
    assert len(values) <= 256


# --- real frames, strict -------------------------------------------------------------------------


def test_annex_a_frame_parses_strictly_and_round_trips(frame_bytes: Load) -> None:
    raw = frame_bytes("annex_a_1062")
    frame = parse_frame(raw)
    assert (frame.qn, frame.st, frame.cn, frame.pw) == ("20160801085857223", "32", "1062", "100000")
    assert frame.mn == "010000A8900016F000169DC0"
    assert frame.flag == 5 and frame.needs_ack and not frame.is_split
    assert frame.version == "2017"
    assert frame.cp.values == {"RtdInterval": "30"}
    assert frame.crc == "1C80" and frame.crc_variant == "hj212"
    assert frame.warnings == ()
    assert encode_frame(frame) == raw
    assert frame.qn_time == dt.datetime(2016, 8, 1, 0, 58, 57, 223000, tzinfo=dt.UTC)


def test_2051_air_minute_frame(frame_bytes: Load) -> None:
    raw = frame_bytes("2051_air_minute")
    frame = parse_frame(raw)
    assert frame.crc == "D641"
    assert frame.cp.factors["a21026"] == {"Avg": "6", "Flag": "N"}
    assert list(frame.cp.factors)[:3] == ["a21004", "a05024", "a21026"]
    assert frame.cp.number("a21005", "Avg") == pytest.approx(0.427)
    assert frame.cp.number("a99999", "Avg") is None
    # DataTime is Beijing time on the wire: 16:26 in Shanghai is 08:26 UTC.
    assert frame.data_time == dt.datetime(2022, 5, 13, 8, 26, tzinfo=dt.UTC)
    assert not frame.needs_ack
    assert encode_frame(frame) == raw


def test_2011_flue_gas_frame_with_converted_values(frame_bytes: Load) -> None:
    frame = parse_frame(frame_bytes("2011_flue_gas_zs_8701"))
    assert frame.cp.factors["a00000"] == {"Rtd": "3434", "ZsRtd": "3434", "Flag": "N"}
    assert encode_frame(frame) == frame_bytes("2011_flue_gas_zs_8701")


def test_9014_frame_with_flag_8_is_a_2025_answer_strict_mode_reads(frame_bytes: Load) -> None:
    raw = frame_bytes("9014_data_answer_flag8")
    assert crc16(segment_of(raw)) == "0140"
    frame = parse_frame(raw)  # Flag=8: version bits 000010, HJ 212-2025
    assert (frame.version, frame.needs_ack, frame.warnings) == ("2025", False, ())
    # Version bits no standard defines stay refused in strict mode.
    undefined = encode_frame(replace(frame, flag=13))
    with pytest.raises(FrameError, match="Flag=13") as caught:
        parse_frame(undefined)
    assert caught.value.field == "Flag"
    assert parse_frame(undefined, tolerant=True).version == "unknown"


@pytest.mark.parametrize(
    ("name", "got", "expected"),
    [("bad_crc_4981", "4981", "4980"), ("bad_crc_1100", "1100", "2D00")],
)
@pytest.mark.parametrize("tolerant", [False, True])
def test_known_bad_frames_fail_on_crc(
    frame_bytes: Load, name: str, got: str, expected: str, tolerant: bool
) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(frame_bytes(name), tolerant=tolerant)
    err = caught.value
    assert err.reason == "crc" and (err.got, err.expected) == (got, expected)
    assert got in str(err) and expected in str(err)


def test_bad_length_is_reported_with_both_numbers(frame_bytes: Load) -> None:
    with pytest.raises(FrameError, match="says 131 but the data segment has 137 bytes"):
        parse_frame(frame_bytes("bad_length_2081"), tolerant=True)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw[:-2], "ends with CR LF"),
        (lambda raw: b"*" + raw[1:], "starts with '##'"),
        (lambda raw: raw[:2] + b"01a1" + raw[6:], "4 decimal digits"),
        (lambda raw: raw[:-6] + b"1c80\r\n", "lower case"),
    ],
)
def test_strict_errors_say_what_is_wrong(
    frame_bytes: Load, mutate: Callable[[bytes], bytes], message: str
) -> None:
    with pytest.raises(FrameError, match=message):
        parse_frame(mutate(frame_bytes("annex_a_1062")))


def _frame_from_segment(segment: str) -> bytes:
    seg = segment.encode()
    return b"##%04d%s%s\r\n" % (len(seg), seg, crc16(seg).encode())


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("QN=2016080108585722;ST=32;CN=1062;PW=100000;MN=A1;Flag=5;CP=&&&&", "QN must be 17"),
        ("QN=20160801085857223;ST=321;CN=1062;PW=100000;MN=A1;Flag=5;CP=&&&&", "ST must be 2"),
        ("QN=20160801085857223;ST=32;CN=106;PW=100000;MN=A1;Flag=5;CP=&&&&", "CN must be 4"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1000000;MN=A1;Flag=5;CP=&&&&", "PW must be"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=A1;Flag=300;CP=&&&&", "0-255"),
        ("ST=32;QN=20160801085857223;CN=1062;PW=100000;MN=A1;Flag=5;CP=&&&&", "in this order"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=A1;CP=&&&&", "no Flag"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=5;XX=1;CP=&&&&", "unknown header"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=7;CP=&&&&", "in this order"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=7;PNUM=2;PNO=3;CP=&&&&", "PNO=3"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=5;CP=&&A=1;A=2&&", "twice"),
        (
            "QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=5;CP=&&w01-Rtd=1,Flag=N&&",
            "no factor",
        ),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=5;CP=&&A=1;;B=2&&", "empty item"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=5;CP=&&A&&", "not key=value"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=5;CP=&&A=1", "end with '&&'"),
        ("QN=20160801085857223;ST=32;CN=1062;PW=1;MN=A1;Flag=5", "no 'CP=&&'"),
    ],
)
def test_strict_field_errors(segment: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        parse_frame(_frame_from_segment(segment))


def test_segment_over_1024_is_strictly_refused(frame_bytes: Load) -> None:
    seg = "QN=20160801085857223;ST=32;CN=2011;PW=1;MN=A1;Flag=4;CP=&&" + "X=1;" * 250 + "Y=1&&"
    with pytest.raises(FrameError, match="at most 1024"):
        parse_frame(_frame_from_segment(seg))
    assert parse_frame(_frame_from_segment(seg), tolerant=True).cp.values["Y"] == "1"


def test_str_input_is_accepted(frame_bytes: Load) -> None:
    assert parse_frame(frame_bytes("annex_a_1062").decode()).cn == "1062"


# --- encoding and builders -----------------------------------------------------------------------


def test_data_frame_builds_a_strictly_valid_2051_upload() -> None:
    start = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing
    frame = data_frame(
        "2051",
        st="32",
        mn="33030200000001",
        pw="123456",
        data_time=start,
        factors={
            "w01018": {"Avg": 12.5, "Max": 15, "Min": None, "Flag": "N"},
            "w00000": {"Cou": 1e-05, "Flag": "N"},
        },
        qn="20260301100012345",
    )
    raw = encode_frame(frame)
    assert segment_of(raw) == (
        b"QN=20260301100012345;ST=32;CN=2051;PW=123456;MN=33030200000001;Flag=5;"
        b"CP=&&DataTime=20260301100000;w01018-Avg=12.5,w01018-Max=15,w01018-Flag=N;"
        b"w00000-Cou=0.00001,w00000-Flag=N&&"
    )
    assert raw == b"##0177" + segment_of(raw) + crc16(segment_of(raw)).encode() + b"\r\n"
    back = parse_frame(raw)
    assert back.cp == frame.cp and back.data_time == start and back.needs_ack


@pytest.mark.parametrize("cn", ["2011", "2031", "2061"])
def test_data_frame_other_cns_and_no_ack(cn: str) -> None:
    frame = data_frame(
        cn,
        st="31",
        mn="M1",
        pw="123456",
        data_time=dt.datetime.now(dt.UTC),
        factors={"a21026": {"Rtd": "1.5"}},
        ack=False,
    )
    assert parse_frame(encode_frame(frame)).flag == 4


def test_data_frame_refuses_other_commands_and_reserved_characters() -> None:
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ValueError, match="1062"):
        data_frame("1062", st="32", mn="M", pw="1", data_time=now, factors={})
    with pytest.raises(ValueError, match="reserved"):
        data_frame("2011", st="32", mn="M;1", pw="1", data_time=now, factors={})
    with pytest.raises(ValueError, match="reserved"):
        data_frame("2011", st="32", mn="M", pw="1", data_time=now, factors={"a": {"Rtd": "1,2"}})


def test_ack_frame_is_the_9014_data_answer(frame_bytes: Load) -> None:
    request = parse_frame(frame_bytes("annex_a_1062"))
    ack = parse_frame(encode_frame(ack_frame(request)))
    assert (ack.st, ack.cn, ack.flag, ack.cp.text) == ("91", "9014", 4, "")
    assert (ack.qn, ack.pw, ack.mn) == (request.qn, request.pw, request.mn)
    assert encode_frame(ack_frame(request)) == (
        b"##0087QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;"
        b"Flag=4;CP=&&&&71C0\r\n"
    )


def test_9011_and_9012_answers(frame_bytes: Load) -> None:
    request = parse_frame(frame_bytes("annex_a_1062"))
    answer = parse_frame(encode_frame(request_answer_frame(request, 3)))
    assert (answer.cn, answer.cp.get("QnRtn"), answer.qn) == ("9011", "3", request.qn)
    result = parse_frame(encode_frame(execution_answer_frame(request)))
    assert (result.cn, result.cp.get("ExeRtn")) == ("9012", "1")


def test_encode_can_imitate_a_modbus_device(frame_bytes: Load) -> None:
    frame = parse_frame(frame_bytes("annex_a_1062"))
    raw = encode_frame(frame, crc_variant="modbus-swapped")
    assert raw.endswith(modbus_swapped_crc(ANNEX_A_SEGMENT).encode() + b"\r\n")
    assert parse_frame(raw, tolerant=True).crc_variant == "modbus-swapped"


def test_cp_build_and_helpers() -> None:
    cp = Cp.build({"DataTime": "20260301100000", "w01018": {"Rtd": 1, "Flag": "N"}}, QnRtn=1)
    assert cp.text == "DataTime=20260301100000;w01018-Rtd=1,w01018-Flag=N;QnRtn=1"
    assert cp.as_dict() == {
        "DataTime": "20260301100000",
        "QnRtn": "1",
        "w01018": {"Rtd": "1", "Flag": "N"},
    }
    assert cp == Cp.parse(cp.text) and hash(cp) == hash(Cp.parse(cp.text))
    with pytest.raises(FrameError, match="not a number"):
        Cp.parse("w01018-Rtd=abc").number("w01018")
    with pytest.raises(ValueError, match="booleans"):
        Cp.build({"X": True})


def test_new_qn_is_beijing_time_and_strictly_increasing() -> None:
    fixed = new_qn(dt.datetime(2026, 1, 1, 0, 0, 0, 5000, tzinfo=dt.UTC))
    assert fixed == "20260101080000005"
    qns = [new_qn() for _ in range(200)]
    assert qns == sorted(set(qns))


def test_frame_is_hashable_and_compares_by_value(frame_bytes: Load) -> None:
    a = parse_frame(frame_bytes("annex_a_1062"))
    b = parse_frame(frame_bytes("annex_a_1062"))
    assert a == b and len({a, b}) == 1


# --- splitter ------------------------------------------------------------------------------------


def test_splitter_finds_frames_cut_at_every_position(frame_bytes: Load) -> None:
    stream = frame_bytes("annex_a_1062") + frame_bytes("2051_air_minute")
    for cut in range(1, len(stream)):
        splitter = FrameSplitter()
        got = splitter.feed(stream[:cut]) + splitter.feed(stream[cut:])
        assert got == [frame_bytes("annex_a_1062"), frame_bytes("2051_air_minute")], cut


def test_splitter_skips_garbage_and_resyncs(frame_bytes: Load) -> None:
    splitter = FrameSplitter()
    junk = b"\x00\xff garbage ##zz #"
    got = splitter.feed(junk + frame_bytes("annex_a_1062") + b"\r\nmore" + frame_bytes("flag_9"))
    assert got == [frame_bytes("annex_a_1062"), frame_bytes("flag_9")]
    assert splitter.garbage_bytes == len(junk) + len(b"\r\nmore")


def test_splitter_handles_lf_only_logs_and_missing_tails(frame_bytes: Load) -> None:
    a = frame_bytes("annex_a_1062", crlf=False)
    b = frame_bytes("2051_air_minute", crlf=False)
    log = b"[2020-09-22 18:17:47]\n" + a + b"\n[2020-09-22 18:19:08]\n" + b + a
    splitter = FrameSplitter()
    assert splitter.feed(log) == [a, b]
    assert splitter.untailed_frame_ready()
    assert splitter.flush() == [a]


def test_splitter_skips_oversize_frames(frame_bytes: Load) -> None:
    splitter = FrameSplitter(max_frame_bytes=200)
    got = splitter.feed(frame_bytes("2051_air_minute") + frame_bytes("annex_a_1062"))
    assert got == [frame_bytes("annex_a_1062")]
    assert splitter.oversized == 1 and "limit is 200" in splitter.last_oversize
    endless = FrameSplitter(max_frame_bytes=300)
    assert endless.feed(b"##0100" + b"x" * 400) == []
    assert endless.oversized == 1 and endless.pending < 300


# --- split packets -------------------------------------------------------------------------------


def test_reassembler_rebuilds_a_split_2051(frame_bytes: Load) -> None:
    one = parse_frame(frame_bytes("2051_split_pno1_ae41"))
    two = parse_frame(frame_bytes("2051_split_pno2_derived"))
    assert (one.pnum, one.pno, one.is_split, one.needs_ack) == (2, 1, True, True)
    reassembler = Reassembler()
    assert reassembler.add(two, b"2") is None  # out of order is fine
    whole = reassembler.add(one, b"1")
    assert whole is not None and len(reassembler) == 0
    frame = whole.frame
    assert (frame.flag, frame.pnum, frame.pno, frame.is_split) == (5, None, None, False)
    assert frame.cp.values == {"DataTime": "20201029121000"}
    assert list(frame.cp.factors) == [*one.cp.factors, *two.cp.factors]
    assert whole.packets == (one, two) and whole.raws == (b"1", b"2")
    assert frame.warnings == ()
    assert parse_frame(encode_frame(frame), tolerant=True).cp == frame.cp


def test_reassembler_replaces_resent_packets_and_expires_groups(frame_bytes: Load) -> None:
    now = [0.0]
    reassembler = Reassembler(timeout=10, clock=lambda: now[0])
    one = parse_frame(frame_bytes("2051_split_pno1_ae41"))
    assert reassembler.add(one) is None
    assert reassembler.add(one) is None  # the logger resent packet 1
    assert len(reassembler) == 1
    now[0] = 11.0
    assert reassembler.expire() == 1 and len(reassembler) == 0 and reassembler.dropped == 1


def test_reassembler_memory_is_bounded(frame_bytes: Load) -> None:
    from dataclasses import replace

    one = parse_frame(frame_bytes("2051_split_pno1_ae41"))
    reassembler = Reassembler(max_groups=5)
    for i in range(20):
        reassembler.add(replace(one, qn=f"2020102912200{i:04d}"))
    assert len(reassembler) == 5 and reassembler.dropped == 15
    tight = Reassembler(max_bytes=2000)
    for i in range(20):
        tight.add(replace(one, qn=f"2020102912200{i:04d}"), b"x" * 900)
    assert len(tight) == 2


def test_reassembler_rejects_inconsistent_numbers(frame_bytes: Load) -> None:
    from dataclasses import replace

    one = parse_frame(frame_bytes("2051_split_pno1_ae41"))
    with pytest.raises(FrameError, match="outside"):
        Reassembler().add(replace(one, pno=3))
    single = Reassembler().add(replace(one, pnum=1, pno=1))
    assert single is not None and single.frame.pnum is None


def test_frames_built_here_have_no_crc_until_encoded() -> None:
    frame = Frame(st="32", cn="2011", pw="1", mn="M", qn="20260101000000000", flag=4)
    assert frame.crc is None and frame.crc_variant is None
    assert parse_frame(encode_frame(frame)).crc == crc16(frame.segment().encode())


def test_splitter_does_not_cut_a_frame_at_a_hash_pair_inside_it() -> None:
    frame = encode_frame(
        Frame(
            st="32",
            cn="3020",
            pw="1",
            mn="M",
            qn="20260101000000000",
            flag=4,
            cp=Cp.build({"i13004": {"Info": "pump##2"}}),
        )
    )
    splitter = FrameSplitter()
    half = len(frame) // 2 + 10
    assert splitter.feed(frame[:half]) == []
    assert splitter.feed(frame[half:]) == [frame]


def test_splitter_recovers_after_a_frame_with_a_wrong_length_and_no_tail(
    frame_bytes: Load,
) -> None:
    broken = b"##0999" + frame_bytes("annex_a_1062", crlf=False)[6:]
    good = frame_bytes("annex_a_1062")
    splitter = FrameSplitter()
    assert splitter.feed(broken + good) == []  # the broken one says 999 bytes: wait for more
    assert splitter.flush() == [broken, good]
    with pytest.raises(FrameError, match="says 999"):
        parse_frame(broken, tolerant=True)


# -- HJ 212-2025 ------------------------------------------------------------------------------


def test_version_bits_name_the_standard() -> None:
    from parkhub.protocols.hj212.codec import describe_flag

    for flag, version in ((0, "2005"), (1, "2005"), (4, "2017"), (5, "2017"), (8, "2025")):
        frame = Frame(st="32", cn="2011", pw="1", mn="M", flag=flag)
        assert frame.version == version and describe_flag(flag)["version"] == version
    assert Frame(st="32", cn="2011", pw="1", mn="M", flag=9).needs_ack
    assert Frame(st="32", cn="2011", pw="1", mn="M").version == "2005"  # no Flag
    assert describe_flag(13) == {"version": "V=000011", "split": False, "ack": True}


def test_answers_speak_the_version_of_what_they_answer() -> None:
    from parkhub.protocols.hj212 import answer_for, command_frame, heartbeat_frame

    upload_2025 = command_frame("2011", st="32", mn="M", pw="1", cp="DataTime=1", ack=True)
    upload_2017 = command_frame("2011", st="32", mn="M", pw="1", version="2017", ack=True)
    beat = heartbeat_frame(st="32", mn="M", pw="1", ack=True)
    answers = [answer_for(f) for f in (upload_2025, upload_2017, beat)]
    assert [(a.cn, a.flag, a.st) for a in answers if a] == [
        ("9014", 8, "91"),
        ("9014", 4, "91"),
        ("9013", 8, "91"),  # the notice answer to a heartbeat that asks for one
    ]
    assert answer_for(heartbeat_frame(st="32", mn="M", pw="1")) is None  # Flag=8: none asked
    assert answer_for(command_frame("9021", st="91", mn="M", pw="1", ack=True)) is None
    assert [a.qn for a in answers if a] == [upload_2025.qn, upload_2017.qn, beat.qn]


def test_crc16_modbus_in_either_byte_order_is_read_by_tolerant_mode() -> None:
    from parkhub.protocols.hj212 import modbus_crc

    frame = Frame(qn="20170516010101001", st="22", cn="1011", pw="123456", mn="M", flag=3)
    seg = frame.segment().encode()
    assert modbus_crc(seg) == modbus_swapped_crc(seg)[2:] + modbus_swapped_crc(seg)[:2]
    for variant in ("modbus", "modbus-swapped"):
        raw = encode_frame(frame, crc_variant=variant)  # type: ignore[arg-type]
        with pytest.raises(FrameError, match="CRC mismatch"):
            parse_frame(raw)
        assert parse_frame(raw, tolerant=True).crc_variant == variant


def test_a_frame_with_a_broken_length_field_is_cut_not_swallowed() -> None:
    good = encode_frame(Frame(qn="20160801085857223", st="32", cn="1062", pw="1", mn="M", flag=5))
    splitter = FrameSplitter()
    stream = b"AT+OK\r\n##12QN=1;ST=32;CN=2011;PW=1;MN=M;CP=&&&&0000\r\n" + good + b"##0"
    frames = splitter.feed(stream) + splitter.flush()
    assert frames == [b"##12QN=1;ST=32;CN=2011;PW=1;MN=M;CP=&&&&0000\r\n", good, b"##0"]
    assert splitter.garbage_bytes == len(b"AT+OK\r\n")
    with pytest.raises(FrameError, match="4 decimal digits") as caught:
        parse_frame(frames[0], tolerant=True)
    assert caught.value.reason == "length"
