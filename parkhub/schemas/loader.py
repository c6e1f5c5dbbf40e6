"""Payload contracts: the JSON Schema of each platform report, compiled once."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import jsonschema

from parkhub.canonical import jsonutil


@lru_cache(maxsize=64)
def payload_validator(schema_path: str) -> jsonschema.protocols.Validator:
    text = (files("parkhub.schemas") / "platforms" / schema_path).read_text(encoding="utf-8")
    schema = jsonutil.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator
