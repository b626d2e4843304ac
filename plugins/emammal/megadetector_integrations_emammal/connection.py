"""Reaching the eMammal desktop client's MySQL database.

The client runs its own MySQL server (by default ``localhost:3307``, database
``wild_id``). Users give a URL, options, or both (options win); the password
comes from the URL, an environment variable or a prompt, and is never echoed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator, Optional
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from megadetector_integrations.errors import MdiError

DEFAULT_URL = "mysql://root@localhost:3307/wild_id"
PASSWORD_ENV = "MDI_EMAMMAL_PASSWORD"

# MySQL client error codes we explain in plain words.
_CANNOT_CONNECT = {2002, 2003, 2005, 2006, 2013}
_ACCESS_DENIED = {1044, 1045, 1698}
_UNKNOWN_DATABASE = 1049


@attrs.frozen(kw_only=True)
class ConnectionOptions:
    """Where the eMammal database is. Shared by the exporter and `mdi emammal`."""

    db: str = attrs.field(default=DEFAULT_URL, metadata={
        "help": "database URL mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?unix_socket=PATH]; "
                f"better leave the password out and set ${PASSWORD_ENV}"})
    host: Optional[str] = attrs.field(default=None, metadata={"help": "server host (overrides the URL)"})
    port: Optional[int] = attrs.field(default=None, metadata={"help": "server port (overrides the URL)"})
    user: Optional[str] = attrs.field(default=None, metadata={"help": "user name (overrides the URL)"})
    database: Optional[str] = attrs.field(default=None, metadata={"help": "database name (overrides the URL)"})
    socket: Optional[str] = attrs.field(default=None, metadata={"help": "Unix socket of a local server"})
    password_env: str = attrs.field(default=PASSWORD_ENV, metadata={
        "help": "environment variable holding the password; when unset (and the URL has none) "
                "you are asked for it on a terminal"})


@attrs.frozen
class Target:
    """A fully resolved connection target (the password kept out of ``repr``)."""

    host: str
    port: int
    user: str
    database: str
    socket: Optional[str] = None
    password: Optional[str] = attrs.field(default=None, repr=False)

    def describe(self) -> str:
        where = f"socket {self.socket}" if self.socket else f"{self.host}:{self.port}"
        return f"database '{self.database}' as '{self.user}' at {where}"


def parse_url(url: str) -> Target:
    """``mysql://user:pass@host:port/db?unix_socket=...`` → ``Target`` (missing parts defaulted)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
        raise MdiError(f"--db {url!r}: expected a URL like {DEFAULT_URL}")
    try:
        port = parts.port
    except ValueError:
        raise MdiError(f"--db {url!r}: the port is not a number") from None
    query = parse_qs(parts.query)
    return Target(
        host=unquote(parts.hostname or "localhost"),
        port=port or 3307,
        user=unquote(parts.username or "root"),
        database=unquote(parts.path.lstrip("/")) or "wild_id",
        socket=(query.get("unix_socket") or [None])[0],
        password=None if parts.password is None else unquote(parts.password),
    )


def resolve(options: ConnectionOptions, ask: bool = True) -> Target:
    """The URL with the options applied; the password from URL, environment or prompt."""
    target = parse_url(options.db)
    target = attrs.evolve(
        target,
        host=options.host or target.host,
        port=options.port or target.port,
        user=options.user or target.user,
        database=options.database or target.database,
        socket=options.socket or target.socket,
    )
    if target.password is None:
        password = os.environ.get(options.password_env)
        if password is None and ask and sys.stdin is not None and sys.stdin.isatty():
            import getpass

            password = getpass.getpass(f"password for {target.describe()}: ")
        target = attrs.evolve(target, password=password)
    return target


def explain(error: Exception, target: Target) -> str:
    """A one-line, actionable message for a driver error."""
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    detail = error.args[1] if len(error.args) > 1 else str(error)
    if code in _CANNOT_CONNECT:
        return (f"cannot reach the eMammal {target.describe()} ({detail}). Is the eMammal desktop "
                "client open and logged in? It runs its MySQL server on port 3307; check --db")
    if code in _ACCESS_DENIED:
        return (f"access denied to the eMammal {target.describe()}: wrong user or password "
                f"(put the password in ${PASSWORD_ENV} or type it when asked)")
    if code == _UNKNOWN_DATABASE:
        return f"the server has no {target.describe().split(' as ')[0]}; check the database name in --db"
    return f"eMammal {target.describe()}: {detail}"


@contextlib.contextmanager
def connect(options: ConnectionOptions) -> Iterator["object"]:
    """An open PyMySQL connection (autocommit off), closed on the way out.

    Driver errors inside the block become ``MdiError`` with a plain message.
    """
    import pymysql

    target = resolve(options)
    try:
        conn = pymysql.connect(
            host=target.host, port=target.port, user=target.user, password=target.password or "",
            database=target.database, unix_socket=target.socket, charset="utf8mb4",
            autocommit=False, connect_timeout=10,
        )
    except pymysql.err.MySQLError as exc:
        raise MdiError(explain(exc, target)) from None
    try:
        yield conn
    except pymysql.err.MySQLError as exc:
        raise MdiError(explain(exc, target)) from None
    finally:
        with contextlib.suppress(Exception):
            conn.close()
