"""`parkhub adapters`: every installed vendor adapter and platform, and where each comes from
(built in, or the installed distribution that declares it)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from parkhub.adapters.registry import AdapterInfo, installed

from .root import console, print_json, table

COLUMNS = ("kind", "name", "origin", "capabilities", "streams / reports")


def adapters(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """Installed vendor adapters and platforms, and where each comes from.

    Built in, or the plugin package (distribution and version) that declares it; with the
    capabilities and streams of a vendor, the reports of a platform. An adapter that fails to
    load is listed as broken, with the reason.
    """
    found = installed()
    if as_json:
        print_json([info.as_dict() for info in found])
        return
    t = table("适配器 Adapters", COLUMNS)
    for info in found:
        t.add_row(*_row(info))
    console.print(t)


def _row(info: AdapterInfo) -> tuple[str, ...]:
    if info.error is not None:  # the reason where the streams would be: the operator's fix
        return info.kind, info.name, info.origin, "[red]无法加载 broken[/]", escape(info.error)
    return (
        info.kind,
        info.name,
        info.origin,
        ", ".join(info.capabilities),
        ", ".join(info.streams or info.reports),
    )
