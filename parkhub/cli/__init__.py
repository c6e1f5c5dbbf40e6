"""The `parkhub` command line (typer + rich): each module holds one group of commands, and here
they are put together under one root, in the order `parkhub --help` lists them."""

from __future__ import annotations

import sys

from rich.markup import escape

from parkhub.errors import ParkhubError

from . import (
    adapters,
    backup,
    config,
    data,
    deliveries,
    entry,
    evaluate,
    hj212,
    new,
    sandbox,
    serve,
    users,
    views,
)
from .config import SAMPLE_CONFIG
from .root import (
    app,
    console,
    entry_app,
    err_console,
    hj212_app,
    inbox_app,
    reports_app,
    user_app,
)

for command in (
    config.init,
    sandbox.sandbox,
    config.check,
    data.sync,
    data.dispatch,
    data.retry,
    views.status,
    views.calendar,
    views.platforms,
    adapters.adapters,
    deliveries.deliveries,
    deliveries.replay,
    data.reparse,
    serve.run,
    serve.serve,
    serve.demo,
    backup.backup,
    backup.restore,
    config.schema,
):
    app.command()(command)
app.command()(evaluate.evaluate)
reports_app.command("build")(data.reports_build)
inbox_app.command("list")(deliveries.inbox_list)
inbox_app.command("dismiss")(deliveries.inbox_dismiss)
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
app.add_typer(inbox_app, name="inbox")
app.add_typer(hj212_app, name="hj212")
app.add_typer(entry_app, name="entry")
app.add_typer(user_app, name="user")
app.add_typer(new.new_app, name="new")


def main() -> None:
    """The `parkhub` command: a user's mistake ends with its reason (exit 2), never a
    traceback."""
    try:
        app()
    except ParkhubError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except OSError as exc:  # a file that is not there, not readable, a port taken ...
        what = f"{exc.strerror or exc}: {exc.filename or ''}"
        err_console.print(f"[red]error:[/] {escape(what)}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)


__all__ = ["SAMPLE_CONFIG", "app", "console", "main"]
