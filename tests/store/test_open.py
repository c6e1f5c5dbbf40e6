"""A database URL that names no usable database is a ConfigError that names it (never its
password), not a driver's traceback."""

from __future__ import annotations

import pytest

from parkhub.errors import ConfigError
from parkhub.store import Store


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nosuch://x", "Can't load plugin"),
        ("::::", "Could not parse"),
        ("sqlite:////proc/no-such-dir/parkhub.db", "No such file or directory"),
        ("postgresql://parkhub:sekret-pw@127.0.0.1:1/parkhub", "cannot open the database"),
    ],
)
def test_an_unusable_database_url_is_a_config_error(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        Store.open(url)
    assert expected in str(err.value) and "sekret-pw" not in str(err.value)
