"""Identifiers: the unified social credit code (GB 32100-2015), checked with python-stdnum."""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.cn import uscc as _uscc
from stdnum.exceptions import InvalidChecksum, ValidationError


@dataclass(frozen=True, slots=True)
class CreditCodeCheck:
    code: str
    ok: bool
    warning: str | None = None


def check_credit_code(value: str) -> CreditCodeCheck:
    """Normalise and check a credit code.

    A code whose only fault is its check character is kept with a warning, not rejected: early
    pilot codes (Xiamen, Fujian) are legal yet fail the check. Anything else malformed raises
    ValueError with the reason in Chinese and English.
    """
    code = _uscc.compact(value)
    try:
        _uscc.validate(code)
    except InvalidChecksum:
        return CreditCodeCheck(
            code, False, "统一社会信用代码校验位不符 (credit code check character does not match)"
        )
    except ValidationError as exc:
        raise ValueError(
            f"统一社会信用代码格式错误 (invalid credit code {value!r}: {exc})"
        ) from None
    return CreditCodeCheck(code, True)
