"""A private, throwaway MariaDB server with the eMammal ``wild_id`` tables.

Used by the test suite, the benchmark and ``mdi demo``: never by the exporter
itself. The tables hold the columns the eMammal integration app read and
wrote (names from its SQL); key columns and indexes as a client database has.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

#: The ``wild_id`` tables, as far as the eMammal integration app used them.
WILD_ID_TABLES = (
    """CREATE TABLE project (
         project_id INT NOT NULL PRIMARY KEY,
         name VARCHAR(255) NOT NULL) ENGINE=InnoDB""",
    """CREATE TABLE emammal_project (
         project_id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB""",
    """CREATE TABLE event (
         event_id INT NOT NULL PRIMARY KEY,
         name VARCHAR(255) NOT NULL,
         project_id INT NOT NULL, KEY (project_id)) ENGINE=InnoDB""",
    """CREATE TABLE deployment (
         deployment_id INT NOT NULL PRIMARY KEY,
         name VARCHAR(255) NOT NULL) ENGINE=InnoDB""",
    """CREATE TABLE emammal_deployment (
         deployment_id INT NOT NULL PRIMARY KEY,
         event_id INT NOT NULL, KEY (event_id)) ENGINE=InnoDB""",
    """CREATE TABLE emammal_project_taxa (
         emammal_project_taxa_id INT NOT NULL PRIMARY KEY,
         project_id INT NOT NULL,
         species VARCHAR(255) NOT NULL,
         common_name VARCHAR(255) NULL, KEY (project_id)) ENGINE=InnoDB""",
    """CREATE TABLE image_sequence (
         image_sequence_id INT NOT NULL PRIMARY KEY,
         deployment_id INT NOT NULL, KEY (deployment_id)) ENGINE=InnoDB""",
    """CREATE TABLE image (
         image_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
         raw_name VARCHAR(255) NOT NULL,
         image_sequence_id INT NOT NULL, KEY (image_sequence_id)) ENGINE=InnoDB""",
    """CREATE TABLE emammal_sequence_annotation (
         emammal_sequence_annotation_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
         sequence_id INT NOT NULL,
         project_taxa_id INT NOT NULL,
         total_count INT NOT NULL, KEY (sequence_id)) ENGINE=InnoDB""",
)


def find_binary(*names: str) -> Optional[str]:
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for d in ("/usr/sbin", "/usr/local/sbin") if (p := Path(d) / name).exists()), None)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateServer:
    """``mariadb-install-db`` into a fresh folder, then ``mariadbd`` on a socket and a free port.

    Use as a context manager, or ``start()``/``stop()``. Root connects through
    the socket without a password. Data goes on tmpfs when there is one.
    """

    def __init__(self, base: Optional[Path] = None):
        shm = Path("/dev/shm")
        self.base = Path(tempfile.mkdtemp(prefix="mdi-mariadb-", dir=base or (shm if shm.is_dir() else None)))
        self.socket = str(self.base / "mysqld.sock")  # short: socket paths are limited to ~100 bytes
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 60) -> "PrivateServer":
        install = find_binary("mariadb-install-db", "mysql_install_db")
        server = find_binary("mariadbd", "mysqld")
        if not (install and server):
            raise FileNotFoundError("no MariaDB server found (install the Debian package mariadb-server)")
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        data = self.base / "data"
        subprocess.run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                        "--skip-test-db", *as_root], check=True, capture_output=True)
        self.process = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={data}", f"--socket={self.socket}", f"--port={self.port}",
             "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
             f"--pid-file={self.base / 'mysqld.pid'}", f"--log-error={self.base / 'error.log'}",
             "--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=2", *as_root],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        import pymysql

        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                self.root().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mariadbd not ready after {timeout} s:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def log_tail(self) -> str:
        log = self.base / "error.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""

    def root(self, database: Optional[str] = None):
        """A root connection through the socket (autocommit on)."""
        import pymysql

        return pymysql.connect(unix_socket=self.socket, user="root", database=database, autocommit=True,
                               charset="utf8mb4")

    def create_user(self, user: str, password: str) -> None:
        with self.root() as conn, conn.cursor() as cur:
            cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO `{user}`@'%'")

    def url(self, user: str, database: str) -> str:
        """A TCP URL without password (give it in the environment)."""
        return f"mysql://{user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: a clean shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "PrivateServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def create_wild_id(conn, database: str) -> None:
    """Create ``database`` with the wild_id tables (an empty eMammal client database)."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{database}`")
        for sql in WILD_ID_TABLES:
            cur.execute(sql)


def insert(conn, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Bulk insert fixture rows."""
    if not rows:
        return
    marks = "(" + ",".join(["%s"] * len(columns)) + ")"
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES {marks}", rows)
