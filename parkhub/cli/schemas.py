"""Write the checked-in JSON Schemas in parkhub/schemas/: the canonical model, parkhub.yaml,
the built-in adapters' configs and the other files they read (the REST vendor's spec); and the
canonical field reference docs/canonical-fields.md (`make schemas`).

A test fails when the files drift from the models, so a model change ships with its schema.
Adapters from installed plugin packages are left out: installing one never makes the files drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parkhub.canonical import RECORD_TYPES

HERE = Path(__file__).resolve().parents[1] / "schemas"


def canonical_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for kind, cls in RECORD_TYPES.items():
        schema = cls.model_json_schema()
        schema["$id"] = f"parkhub:canonical/{kind}"
        schema["x-parkhub-kind"] = kind
        out[f"canonical/{kind}.schema.json"] = schema
    return out


def config_schemas() -> dict[str, dict[str, Any]]:
    from parkhub.adapters.registry import installed
    from parkhub.config import config_json_schema

    out = {"config.schema.json": config_json_schema()}
    for info in installed(plugins=False):
        if info.config_model is None:  # a built-in that does not load: the drift test says so
            raise RuntimeError(info.error)
        out[f"adapters/{info.kind}.{info.name}.schema.json"] = info.config_model.model_json_schema()
        for document, model in info.documents.items():
            out[f"adapters/{info.kind}.{info.name}.{document}.schema.json"] = (
                model.model_json_schema()
            )
    return out


def render(schema: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def all_schemas() -> dict[str, str]:
    return {path: render(s) for path, s in {**canonical_schemas(), **config_schemas()}.items()}


FIELDS_DOC = HERE.parents[1] / "docs" / "canonical-fields.md"
"""The canonical field reference, written beside the schemas in a source checkout."""


def main() -> None:
    from .fields import canonical_fields_markdown

    for rel, text in all_schemas().items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if FIELDS_DOC.parent.is_dir():
        FIELDS_DOC.write_text(canonical_fields_markdown(), encoding="utf-8")
        print(f"wrote {FIELDS_DOC}")


if __name__ == "__main__":
    main()
