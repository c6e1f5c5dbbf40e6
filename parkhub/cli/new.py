"""`parkhub new vendor NAME` and `parkhub new platform NAME`: write a pip-installable plugin
package that passes its own tests as generated (the templates: parkhub/cli/scaffold/)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

import jinja2
import typer

from parkhub import __version__
from parkhub.errors import ConfigError

from .root import console, fail

new_app = typer.Typer(
    help="新建插件包 Scaffold a plugin package (a vendor or a platform) that passes its tests.",
    no_args_is_help=True,
)
SCAFFOLD = files("parkhub.cli") / "scaffold"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
KINDS = ("vendor", "platform")
DirOpt = Annotated[
    Path | None, typer.Option("--dir", help="where to write it (default: ./parkhub-NAME)")
]
ForceOpt = Annotated[bool, typer.Option(help="write into a folder that is not empty")]


@dataclass(frozen=True)
class Plugin:
    """What a generated package is called, every way it is written."""

    name: str

    @property
    def dist(self) -> str:
        return f"parkhub-{self.name.replace('_', '-')}"

    @property
    def package(self) -> str:
        return f"parkhub_{self.name}"

    @property
    def cls(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def env(self) -> str:
        return self.name.upper()

    def values(self) -> dict[str, str]:
        return {"name": self.name, "dist": self.dist, "package": self.package, "cls": self.cls,
                "env": self.env, "parkhub_version": __version__}  # fmt: skip


def check_name(kind: str, name: str) -> Plugin:
    """The plugin `name`, or ConfigError saying what a name may be."""
    if not NAME.match(name):
        raise ConfigError(
            f"名称无效 (bad {kind} name {name!r}): lower-case letters, digits and _, starting "
            "with a letter, 2 to 31 characters (it becomes the registry name and a package)"
        )
    from parkhub.adapters.registry import installed

    for info in installed():
        if info.name == name:
            raise ConfigError(
                f"{name!r} 已被使用 (is taken: the {info.kind} {name} of {info.origin}); "
                "the registry would have two: pick another name"
            )
    return Plugin(name)


def _templates(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for item in sorted(root.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            out.extend(_templates(item, f"{prefix}{item.name}/"))
        elif item.name.endswith(".tmpl"):
            out.append((prefix + item.name.removesuffix(".tmpl"), item))
    return out


def scaffold(kind: str, name: str, target: Path, *, force: bool = False) -> list[Path]:
    """Write the `kind` package for `name` into `target`; the files written."""
    plugin = check_name(kind, name)
    if target.exists() and any(target.iterdir()) and not force:
        raise ConfigError(f"{target} 已存在且非空 (exists and is not empty): use --force or --dir")
    env = jinja2.Environment(
        keep_trailing_newline=True, undefined=jinja2.StrictUndefined, autoescape=False
    )
    values = plugin.values()
    written = []
    for rel, template in _templates(SCAFFOLD / kind):
        path = target / rel.replace("__package__", plugin.package).replace("__name__", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = env.from_string(template.read_text(encoding="utf-8")).render(values)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _new(kind: str, name: str, where: Path | None, force: bool) -> None:
    target = where or Path(f"parkhub-{name.replace('_', '-')}")
    try:
        written = scaffold(kind, name, target, force=force)
    except ConfigError as exc:
        fail(exc)
    console.print(f"[green]wrote[/] {target}/ ({len(written)} files): a {kind} package for {name}")
    console.print(f"next:\n  pip install -e {target}\n  pytest {target}")


@new_app.command("vendor")
def new_vendor(
    name: Annotated[str, typer.Argument(help="registry name, e.g. acme (vendor: acme)")],
    where: DirOpt = None,
    force: ForceOpt = False,
) -> None:
    """A vendor adapter package: a pull adapter, a fake vendor, samples and tests (the kit)."""
    _new("vendor", name, where, force)


@new_app.command("platform")
def new_platform(
    name: Annotated[str, typer.Argument(help="registry name, e.g. county_energy (type: ...)")],
    where: DirOpt = None,
    force: ForceOpt = False,
) -> None:
    """A platform package: a JSON platform, its mapping spec and payload schema, a fake
    platform and tests (the kit)."""
    _new("platform", name, where, force)
