"""`scgw users list|passwd|disable|enable`: the account chores an admin does from a shell
(importing this module adds them to `scgw users`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import ConfigOpt, _store, users_app


@users_app.command("list")
def users_list(
    role: Annotated[str | None, typer.Option(help="Only this role")] = None,
    config: ConfigOpt = None,
) -> None:
    """Print accounts: username, role, grid or vendor, enabled/disabled, display name."""
    from gateway.clock import SystemClock
    from gateway.users import UserRepository

    with _store(config) as store:
        for u in UserRepository(store, SystemClock()).accounts(role):
            where = u.grid or u.vendor or "-"
            state = "disabled" if u.disabled else "enabled"
            typer.echo(f"{u.username}\t{u.role}\t{where}\t{state}\t{u.display_name}")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password: Annotated[
        str, typer.Option(prompt="New password", hide_input=True, confirmation_prompt=True,
                          envvar="SCGW_NEW_PASSWORD", help="At least 8 characters")
    ],
    config: ConfigOpt = None,
) -> None:
    """Set a new password (every session of the account ends: its browsers sign in again)."""
    from gateway.clock import SystemClock
    from gateway.users import AccountError, UserRepository

    with _store(config, AccountError) as store:
        UserRepository(store, SystemClock()).set_password(username, password)
        _audit(store, "user_password_reset", username)
    typer.echo(f"password of {username} changed; its sessions ended")


def _set_disabled(username: str, disabled: bool, config: Path | None) -> None:
    from gateway.clock import SystemClock
    from gateway.users import AccountError, UserRepository

    with _store(config, AccountError) as store:
        UserRepository(store, SystemClock()).set_disabled(username, disabled)
        _audit(store, "user_disable" if disabled else "user_enable", username)
    typer.echo(f"{username}: {'disabled (its sessions ended)' if disabled else 'enabled'}")


@users_app.command("disable")
def users_disable(username: str, config: ConfigOpt = None) -> None:
    """Disable an account: its sessions end at once and its logins are refused."""
    _set_disabled(username, True, config)


@users_app.command("enable")
def users_enable(username: str, config: ConfigOpt = None) -> None:
    """Enable a disabled account again."""
    _set_disabled(username, False, config)


def _audit(store: object, action: str, target: str) -> None:
    """The shell's changes land in the admin audit like the console's."""
    import getpass

    from gateway.clock import SystemClock
    from gateway.storage.audit import AuditRepository

    AuditRepository(store).record_admin(  # type: ignore[arg-type]
        at=SystemClock().time(), actor=f"cli:{getpass.getuser()}", role="admin", action=action,
        target=target, client_addr="cli")
