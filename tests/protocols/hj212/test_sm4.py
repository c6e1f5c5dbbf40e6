"""SM4 over CP (HJ 212-2025 as public descriptions report it): cryptography's SM4 on these
machines, the text forms of the cipher, the padding, frames encrypted and read back."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from parkhub.protocols.hj212 import FrameError, command_frame, encode_frame, parse_frame
from parkhub.protocols.hj212.sm4 import (
    decrypt_cp,
    encrypt_cp,
    encrypts,
    key_bytes,
    looks_encrypted,
)

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
CP = "DataTime=20260105100000;w01018-Avg=23.5,w01018-Flag=N"


def test_cryptography_has_sm4_here_and_it_meets_the_standard_vector() -> None:
    """GB/T 32907-2016 Annex A.1: key = plain = 0123...3210 gives 681edf34...4246."""
    encryptor = Cipher(algorithms.SM4(KEY), modes.ECB()).encryptor()
    assert (encryptor.update(KEY) + encryptor.finalize()).hex() == (
        "681edf34d206965e86b3e94f536e4246"
    )


def test_cp_goes_out_as_upper_case_hex_of_zero_filled_blocks() -> None:
    cipher = encrypt_cp(CP, KEY)
    assert len(cipher) % 32 == 0 and cipher == cipher.upper() and looks_encrypted(cipher)
    assert decrypt_cp(cipher, KEY) == (CP, "utf-8")
    assert decrypt_cp(cipher.lower(), KEY) == (CP, "utf-8")  # hex in either case


def test_base64_and_pkcs7_from_other_senders_are_read() -> None:
    data = CP.encode()
    pad = 16 - len(data) % 16
    encryptor = Cipher(algorithms.SM4(KEY), modes.ECB()).encryptor()
    sealed = encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()
    assert decrypt_cp(base64.b64encode(sealed).decode(), KEY) == (CP, "utf-8")
    assert decrypt_cp(sealed.hex(), KEY) == (CP, "utf-8")


def test_plain_cp_never_looks_encrypted() -> None:
    for text in ("", CP, "QnRtn=1", "&&", "RtdInterval=30", "PolId=w01018"):
        assert not looks_encrypted(text)
    assert not looks_encrypted("ABCDEF0123")  # hex, but not whole blocks


def test_keys_and_which_commands_are_encrypted() -> None:
    assert key_bytes("0123456789ABCDEFFEDCBA9876543210") == KEY
    assert key_bytes("abcdefghijklmnop") == b"abcdefghijklmnop"
    with pytest.raises(ValueError, match="32 hex digits or 16"):
        key_bytes("short")
    assert encrypts("2011") and encrypts("2013") and encrypts("1014") and encrypts("3020")
    assert not encrypts("9014") and not encrypts("9015") and not encrypts("1001")


def test_an_encrypted_frame_round_trips_with_its_key() -> None:
    frame = command_frame("2011", st="32", mn="M1", pw="123456", cp=CP, qn="20260105100000000")
    raw = encode_frame(frame, sm4_key=KEY)
    assert b"w01018" not in raw and b"CP=&&" in raw
    read = parse_frame(raw, sm4_key=KEY)  # strict mode reads 2025 frames too
    assert read.encrypted and read.cp.text == CP and read.version == "2025"
    assert encode_frame(read, sm4_key=KEY) == raw
    with pytest.raises(FrameError, match="MN=M1") as caught:
        parse_frame(raw, tolerant=True)
    assert caught.value.reason == "encrypted" and caught.value.field == "CP"
    assert caught.value.frame is not None and caught.value.frame.qn == frame.qn
