"""The house rules (docs/design.md): small modules and functions, tests that mirror the
package layout, and a public API that is exactly what parkhub/__init__.py names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import parkhub

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "parkhub"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
EXEMPT = {"parkhub/protocols/hj212/codec.py"}  # the HJ 212 codec: one standard, one module
EXCEPTION_MARK = "House-rule exception:"  # a docstring that says why a module or function is longer

PUBLIC_API = [
    "AdapterConfig",
    "ConfigError",
    "DeliveryError",
    "Device",
    "Enterprise",
    "EnterpriseMonthly",
    "EnvironmentalData",
    "Event",
    "EventKind",
    "Hub",
    "HubConfig",
    "InputError",
    "MappingError",
    "Measurement",
    "Park",
    "ParkMonthly",
    "ParkhubError",
    "ParseResult",
    "PermanentDeliveryError",
    "Platform",
    "PushRequest",
    "PushVerdict",
    "RawBatch",
    "RawMessage",
    "Receipt",
    "Record",
    "ReportSpec",
    "Secret",
    "SourceContext",
    "SourceError",
    "TransientDeliveryError",
    "VendorAdapter",
    "__version__",
    "load_config",
]


def _modules() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.parts and str(p.relative_to(ROOT)) not in EXEMPT
    )


def _excused(node: ast.AST) -> bool:
    doc = ast.get_docstring(node)  # type: ignore[arg-type]
    return doc is not None and EXCEPTION_MARK in doc


def test_the_public_api_is_exactly_what_init_names() -> None:
    assert parkhub.__all__ == PUBLIC_API
    for name in parkhub.__all__:
        assert getattr(parkhub, name) is not None, name
    assert set(dir(parkhub)) >= set(PUBLIC_API)
    with pytest.raises(AttributeError):
        _ = parkhub.not_a_public_name  # type: ignore[attr-defined]


def test_no_module_is_over_500_lines() -> None:
    too_long = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES and not _excused(ast.parse(text)):
            too_long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert not too_long, "split these by responsibility:\n" + "\n".join(too_long)


def test_no_function_is_over_80_lines() -> None:
    too_long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _excused(node):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size}")
    assert not too_long, "make these smaller:\n" + "\n".join(too_long)


def test_tests_mirror_the_package_layout() -> None:
    """Every folder of tests/ is a package of parkhub/ (or fixtures), and every package of the
    flow has its tests in the folder of the same name."""
    packages = {
        p.parent.relative_to(PACKAGE) for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE
    }
    tests = ROOT / "tests"
    folders = {
        p.relative_to(tests)
        for p in tests.rglob("*")
        if p.is_dir() and "fixtures" not in p.parts and p.name != "__pycache__"
        and not any(part.startswith(".") for part in p.parts)
    }  # fmt: skip
    stray = sorted(str(f) for f in folders if f not in packages)
    assert not stray, f"test folders that mirror no package: {stray}"
    flow = {"adapters", "alerts", "canonical", "cli", "ingest", "mappings", "protocols", "reports",
            "scheduler", "store", "web"}  # fmt: skip
    missing = sorted(name for name in flow if Path(name) not in folders)
    assert not missing, f"packages without tests of their own: {missing}"
