"""Console accounts (控制台账号) from the command line: add, list, parks, password, disable, enable,
API token. A password is asked for or read from stdin, never taken as an argument."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from parkhub.errors import ParkhubError
from parkhub.store import AccountError, Accounts, User

from .root import DEFAULT_CONFIG, ConfigOpt, console, err_console, fail, hub_of, print_json, table

if TYPE_CHECKING:
    from parkhub.hub import Hub

T = TypeVar("T")
NameArg = Annotated[str, typer.Argument(help="the user name")]
ParkOpt = Annotated[
    list[str] | None, typer.Option("--park", help="park id; repeat for several parks")
]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def _read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("密码 Password: ")
    if getpass.getpass("再输一次 Again: ") != password:
        err_console.print("[red]两次输入不一致 (the passwords differ)[/]")
        raise typer.Exit(2)
    return password


def _user_action(config: Path, action: Callable[[Hub, Accounts], T]) -> T:
    """Run `action(hub, accounts)`; account and config errors exit 2 with the reason."""
    with hub_of(config, secrets=False) as hub:  # accounts need no platform's secret
        try:
            return action(hub, hub.store.accounts)
        except (AccountError, ParkhubError) as exc:
            fail(exc)


def _known_parks(hub: Hub, parks: list[str] | None) -> list[str]:
    """`parks`, each checked against parkhub.yaml (an unknown park is an error)."""
    for p in parks or []:
        hub.config.park(p)
    return parks or []


def user_add(
    name: Annotated[str, typer.Argument(help="user name for signing in")],
    role: Annotated[
        str,
        typer.Option(
            help="operator (its parks), reviewer (its parks; approves held records) or admin"
        ),
    ] = "operator",
    park: ParkOpt = None,
    display_name: Annotated[str | None, typer.Option(help="name shown in the console")] = None,
    password_stdin: StdinOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add a console account. The password is asked for (or read from stdin), never an argument."""
    password = _read_password(password_stdin)

    def add(hub: Hub, accounts: Accounts) -> User:
        parks = _known_parks(hub, park)
        return accounts.create_user(
            name, password, role=role, parks=parks, display_name=display_name
        )

    user = _user_action(config, add)
    console.print(f"created {user.username} ({user.role}; parks: {', '.join(user.parks) or 'all'})")


def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """List console accounts with their role, parks and state."""
    users = _user_action(config, lambda hub, accounts: accounts.list_users())
    if as_json:
        print_json([
            {"username": u.username, "display_name": u.display_name, "role": u.role,
             "parks": list(u.parks), "active": u.active, "api_token": u.has_api_token}
            for u in users
        ])  # fmt: skip
        return
    t = table(
        "控制台账号 Console accounts", ("user", "name", "role", "parks", "active", "API token")
    )
    for u in users:
        t.add_row(u.username, u.display_name or "", u.role, ", ".join(u.parks) or "(all)",
                  "yes" if u.active else "no", "yes" if u.has_api_token else "")  # fmt: skip
    console.print(t)


def user_parks(name: NameArg, park: ParkOpt = None, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Set the parks of an operator (replaces the old list)."""
    user = _user_action(
        config, lambda hub, accounts: accounts.set_parks(name, _known_parks(hub, park))
    )
    console.print(f"{user.username}: {', '.join(user.parks) or '(none)'}")


def user_password(
    name: NameArg, password_stdin: StdinOpt = False, config: ConfigOpt = DEFAULT_CONFIG
) -> None:
    """Set a new password (signs out every session of the user)."""
    password = _read_password(password_stdin)
    _user_action(config, lambda hub, accounts: accounts.set_password(name, password))
    console.print(f"{name}: password changed")


def user_disable(name: NameArg, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Disable an account (its sessions end at once)."""
    _user_action(config, lambda hub, accounts: accounts.set_active(name, False))
    console.print(f"{name}: disabled")


def user_enable(name: NameArg, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Enable a disabled account."""
    _user_action(config, lambda hub, accounts: accounts.set_active(name, True))
    console.print(f"{name}: enabled")


def user_token(name: NameArg, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Make a new API token for NAME (replaces the old one); printed once, stored hashed."""
    token = _user_action(config, lambda hub, accounts: accounts.create_api_token(name))
    sys.stdout.write(token + "\n")
