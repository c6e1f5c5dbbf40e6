"""Canonical records to platform payloads: declarative specs and the engine that applies them."""

from .engine import TRANSFORMS, CompiledMapping, MappingSpec, compile_spec, load_mapping

__all__ = ["TRANSFORMS", "CompiledMapping", "MappingSpec", "compile_spec", "load_mapping"]
