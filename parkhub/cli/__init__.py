"""The `parkhub` command line (typer + rich): each module holds one group of commands, and here
they are put together under one root, in the order `parkhub --help` lists them."""

from __future__ import annotations

import sys

from parkhub.errors import ParkhubError

from . import adapters, backup, config, data, entry, hj212, serve, users
from .config import SAMPLE_CONFIG
from .root import app, console, entry_app, err_console, hj212_app, reports_app, user_app

for command in (
    config.init,
    data.sync,
    data.dispatch,
    data.status,
    data.calendar,
    data.platforms,
    adapters.adapters,
    data.deliveries,
    data.replay,
    data.reparse,
    serve.run,
    serve.serve,
    serve.demo,
    backup.backup,
    backup.restore,
    config.schema,
    config.check,
):
    app.command()(command)
reports_app.command("build")(data.reports_build)
hj212_app.command("decode")(hj212.hj212_decode)
hj212_app.command("encode")(hj212.hj212_encode)
entry_app.command("template")(entry.entry_template)
entry_app.command("import")(entry.entry_import)
user_app.command("add")(users.user_add)
user_app.command("list")(users.user_list)
user_app.command("parks")(users.user_parks)
user_app.command("password")(users.user_password)
user_app.command("disable")(users.user_disable)
user_app.command("enable")(users.user_enable)
user_app.command("token")(users.user_token)
app.add_typer(reports_app, name="reports")
app.add_typer(hj212_app, name="hj212")
app.add_typer(entry_app, name="entry")
app.add_typer(user_app, name="user")


def main() -> None:
    try:
        app()
    except ParkhubError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(2)


__all__ = ["SAMPLE_CONFIG", "app", "console", "main"]
