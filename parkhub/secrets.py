"""Secrets: referenced in config as `env:NAME` or `file:NAME`, resolved at load, never printed.

A literal secret in parkhub.yaml is rejected, so secrets never land in config files, the database,
or logs. `file:NAME` reads key NAME from the YAML/`KEY=value` file named by PARKHUB_SECRETS_FILE.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, SecretStr, WithJsonSchema

log = logging.getLogger("parkhub.secrets")

_PATTERN = r"^(env|file):[A-Za-z_][A-Za-z0-9_]*$"
_WARNED: set[str] = set()


def _read_secrets_file(path: Path) -> dict[str, str]:
    """The secrets file's keys and values; ValueError naming the file and what is wrong with
    it (so a config names the problem instead of failing with a traceback). A file every user
    of the machine may read is taken, with a warning."""
    where = f"PARKHUB_SECRETS_FILE={path}"
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"密钥文件是一个目录 ({where} is a directory, not a file)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"密钥文件不存在 ({where} does not exist)") from None
    except PermissionError:
        raise ValueError(f"无权读取密钥文件 ({where} is not readable by this user)") from None
    except UnicodeDecodeError:
        raise ValueError(f"密钥文件不是 UTF-8 文本 ({where} is not UTF-8 text)") from None
    except OSError as exc:
        raise ValueError(f"无法读取密钥文件 ({where}: {exc.strerror})") from None
    if mode & stat.S_IROTH and str(path) not in _WARNED:
        _WARNED.add(str(path))
        log.warning(
            "密钥文件所有用户可读 (%s is readable by every user of this machine, mode %o): "
            "chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        sep = "=" if "=" in line else ":"
        key, _, value = line.partition(sep)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def resolve_secret(reference: object) -> SecretStr:
    """Resolve `env:NAME` / `file:NAME` to a SecretStr; raise ValueError naming what is missing."""
    if isinstance(reference, SecretStr):
        return reference
    if not isinstance(reference, str) or ":" not in reference:
        raise ValueError(
            "密钥必须引用环境变量 (a secret must be a reference like env:NAME or file:NAME, "
            "never the secret itself)"
        )
    scheme, _, name = reference.partition(":")
    if scheme == "env":
        value = os.environ.get(name)
        if value is None:
            raise ValueError(f"环境变量 {name} 未设置 (environment variable {name} is not set)")
        return SecretStr(value)
    if scheme == "file":
        file = os.environ.get("PARKHUB_SECRETS_FILE")
        if not file:
            raise ValueError(f"file:{name} needs PARKHUB_SECRETS_FILE to name a secrets file")
        values = _read_secrets_file(Path(file))
        if name not in values:
            raise ValueError(f"secrets file has no key {name}")
        return SecretStr(values[name])
    raise ValueError(f"unknown secret scheme {scheme!r}: use env:NAME or file:NAME")


Secret = Annotated[
    SecretStr,
    BeforeValidator(resolve_secret),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _PATTERN,
            "writeOnly": True,
            "secret": True,
            "description": "env:NAME or file:NAME; never the secret itself",
        }
    ),
]
