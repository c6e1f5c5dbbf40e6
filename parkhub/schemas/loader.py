"""Payload contracts: the JSON Schema of each platform report, built in or from a plugin package,
compiled once."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import jsonschema

from parkhub.canonical import jsonutil
from parkhub.errors import ConfigError
from parkhub.resources import find_data_file

SCHEMAS = files("parkhub.schemas") / "platforms"
SCHEMAS_GROUP = "parkhub.schemas"
"""Entry-point group of plugin packages holding payload schemas: `<plugin> = "<package>"`, each
schema at `<package>/<path>` for a ReportSpec `schema="<path>"` (`dept/monthly.schema.json`)."""


@lru_cache(maxsize=64)
def payload_validator(schema_path: str) -> jsonschema.protocols.Validator:
    """The validator of a payload schema by its path (e.g. `provincial/park_monthly.schema.json`):
    built in (parkhub/schemas/platforms/), or from a plugin package (group `parkhub.schemas`)."""
    what = "载荷规范 (payload schema)"
    file = find_data_file(schema_path, SCHEMAS, SCHEMAS_GROUP, what, ConfigError)
    schema = jsonutil.loads(file.read_bytes())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator
