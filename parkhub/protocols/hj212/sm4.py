"""SM4 over the CP field, as HJ 212-2025 is reported to ask (the 2025 text itself is not public).

What public write-ups report, and what parkhub chose where they say nothing (docs/vendors/hj212.md):

- SM4 (GB/T 32907-2016) with a 16-byte key, ECB mode, "NoPadding", over the characters between
  `CP=&&` and the closing `&&`; for data commands 2000-2999, 1014 (new key) and 3020 (site info).
- How the cipher bytes are written as text is not reported: parkhub writes upper-case hex and
  reads hex in either case, or base64.
- "NoPadding" leaves filling the last block to the sender: parkhub fills it with zero bytes and,
  reading, drops trailing zero bytes, or PKCS#7 padding (CP text never ends in bytes 0x01-0x10).

The cipher itself is `cryptography`'s SM4; nothing here implements it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK: Final = 16
ENCRYPTED_CNS: Final = frozenset({"1014", "3020"})
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{32})+")
_B64: Final = re.compile(r"[A-Za-z0-9+/]{22,}={0,2}")


def encrypts(cn: str) -> bool:
    """Whether public descriptions of HJ 212-2025 put this command's CP under SM4."""
    return cn in ENCRYPTED_CNS or (len(cn) == 4 and cn.startswith("2") and cn.isdigit())


def key_bytes(text: str) -> bytes:
    """A configured key: 32 hex digits, or 16 ASCII characters (as some platforms hand it out)."""
    key = text.strip()
    if len(key) == 2 * BLOCK and re.fullmatch(r"[0-9A-Fa-f]+", key):
        return bytes.fromhex(key)
    if len(key) == BLOCK and key.isascii():
        return key.encode("ascii")
    raise ValueError(
        "SM4 密钥应为 32 位十六进制或 16 个 ASCII 字符 "
        "(an SM4 key is 32 hex digits or 16 ASCII characters)"
    )


def _cipher_bytes(text: str) -> bytes | None:
    if _HEX.fullmatch(text):
        return bytes.fromhex(text)
    if len(text) % 4 == 0 and _B64.fullmatch(text):
        try:
            data = base64.b64decode(text, validate=True)
        except binascii.Error:
            return None
        if data and len(data) % BLOCK == 0:
            return data
    return None


def looks_encrypted(cp_text: str) -> bool:
    """CP that can only be cipher text: hex (or base64) of whole 16-byte blocks, no `=` item.

    Plain CP always has at least one `key=value` item, so it never matches unless empty.
    """
    if not cp_text or "=" in cp_text.rstrip("="):  # the hot path: plain CP, key=value
        return False
    return _cipher_bytes(cp_text) is not None


def _sm4(key: bytes, data: bytes, *, decrypt: bool) -> bytes:
    cipher = Cipher(algorithms.SM4(key), modes.ECB())  # ECB: as the public descriptions report
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(data) + op.finalize()


def _unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if stripped != data:
        return stripped
    n = data[-1] if data else 0
    if 1 <= n <= BLOCK and data.endswith(bytes([n]) * n):
        return data[:-n]
    return data


def decrypt_cp(cp_text: str, key: bytes) -> tuple[str, str]:
    """(plain CP, text encoding) of SM4-encrypted CP; ValueError when it does not decrypt to
    CP text (the wrong key, most likely)."""
    data = _cipher_bytes(cp_text)
    if data is None:
        raise ValueError("CP is not SM4 cipher text (hex or base64 of 16-byte blocks)")
    plain = _unpad(_sm4(key, data, decrypt=True))
    for encoding in ("utf-8", "gbk"):
        try:
            text = plain.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "=" in text and text.isprintable():
            return text, encoding
    raise ValueError(
        "SM4 解密结果不是 CP 文本，密钥可能不对 "
        "(the SM4-decrypted CP is not CP text: is the configured key the right one?)"
    )


def encrypt_cp(cp_text: str, key: bytes, encoding: str = "utf-8") -> str:
    """SM4-ECB of CP text, zero-filled to whole blocks, as upper-case hex."""
    data = cp_text.encode(encoding)
    data += b"\x00" * (-len(data) % BLOCK)
    return _sm4(key, data, decrypt=False).hex().upper()
