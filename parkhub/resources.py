"""Data files found by name (mapping specs, payload schemas): built into parkhub, or in a package
that a plugin names under an entry-point group. Stdlib only."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from importlib.resources import files
from importlib.resources.abc import Traversable


def find_data_file(
    name: str,
    builtin: Traversable,
    group: str,
    what: str,
    error: Callable[[str], Exception],
) -> Traversable:
    """The file `name` (a path relative to its folder) in `builtin`, or in the package an entry
    point of `group` names (`<plugin> = "<package>"`, the file at `<package>/<name>`).

    Exactly one place may hold it: a plugin never replaces a built-in file or another plugin's.
    `what` names the kind of file in the messages, e.g. "映射规格 (mapping spec)"; `error` makes
    the exception raised when the file is missing or in more than one place (the message says
    where it looked).
    """
    parts = [part for part in name.split("/") if part]
    places: list[tuple[str, Traversable]] = [(f"built-in {builtin}", builtin)]
    broken: list[str] = []
    for ep in entry_points(group=group):
        try:
            places.append((f"plugin {ep.name} = {ep.value!r}", files(ep.value)))
        except (ImportError, TypeError, ValueError) as exc:
            broken.append(f"plugin {ep.name} = {ep.value!r} (cannot import: {exc})")
    found = [(where, root.joinpath(*parts)) for where, root in places]
    found = [(where, file) for where, file in found if file.is_file()]
    if len(found) == 1:
        return found[0][1]
    if found:
        raise error(
            f"{what} {name} 重名 (is in {len(found)} places: "
            f"{'; '.join(where for where, _ in found)}); a plugin may not replace a built-in "
            "file or another plugin's: rename the plugin's file"
        )
    looked = "; ".join([*(where for where, _ in places), *broken])
    raise error(f"{what} {name} 未找到 (not found; looked in: {looked})")
