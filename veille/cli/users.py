"""`veille users add|list|remove|passwd`: curator accounts for the review page."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from veille.cli import app
from veille.cli.common import state
from veille.store import session_scope, utcnow
from veille.store import users as accounts

users_app = typer.Typer(help="Curator accounts of the review page.", no_args_is_help=True)
app.add_typer(users_app, name="users")

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (scripts)."),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name used to log in.")],
    role: Annotated[str, typer.Option("--role", help="curator or admin.")] = "curator",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account (password prompted, or read with --password-stdin)."""
    if role not in accounts.ROLES:
        raise accounts.UserError(f"--role {role!r}: use one of {', '.join(accounts.ROLES)}")
    password = _password(password_stdin)
    with session_scope(state(ctx).engine) as s:
        user = accounts.create_user(s, name=name, password=password, role=role, now=utcnow())
        typer.echo(f"account {user.name!r} created ({user.role})")


@users_app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the accounts with their role and last login."""
    with session_scope(state(ctx).engine) as s:
        found = accounts.list_users(s)
    table = Table("name", "role", "created", "last login", box=None)
    for user in found:
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
        table.add_row(user.name, user.role, user.created_at.strftime("%Y-%m-%d"), last)
    Console().print(table)


@users_app.command("remove")
def remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Account to remove.")]
) -> None:
    """Remove an account (its sessions end at once; its past reviews stay)."""
    with session_scope(state(ctx).engine) as s:
        accounts.remove_user(s, name=name)
    typer.echo(f"account {name!r} removed")


@users_app.command("passwd")
def passwd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account whose password changes.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Change an account's password (its open sessions end)."""
    with session_scope(state(ctx).engine) as s:
        if accounts.get_user(s, name=name) is None:
            raise accounts.UserError(f"no account named {name!r}")
    password = _password(password_stdin)
    with session_scope(state(ctx).engine) as s:
        accounts.set_password(s, name=name, password=password)
    typer.echo(f"password of {name!r} changed")
