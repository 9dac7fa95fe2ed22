"""A real PostgreSQL server for the tests, from the Debian binaries (never a mock).

`postgres_server` (session scope) runs `initdb` into a temporary directory and `pg_ctl start`
on a free port bound to 127.0.0.1, its unix socket inside that directory; `postgres_database`
gives each test a fresh, empty database on it and drops it afterwards; `database_url` is
parametrized over both backends, so a test that names it runs once on SQLite and once on
PostgreSQL (ids `[sqlite]` and `[postgresql]`; `-m "not postgres"` leaves the second out).

The server's binaries are looked up in $PAPERDIGEST_PG_BIN, `pg_config --bindir`, Debian's
/usr/lib/postgresql/<newest>/bin and the PATH. Without them the PostgreSQL cases skip, saying
so, except where a server is required (`PAPERDIGEST_REQUIRE_POSTGRES=1`, which `.ci/run`
exports, or `CI` set): there a missing server fails the run. initdb refuses to run as root,
so under root the cluster belongs to an unprivileged user (`postgres` when it exists, else
`nobody`) and the binaries run as that user.

Registered once with ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUPERUSER = "paperdigest"
START_TIMEOUT_S = 60
REQUIRED_VARIABLES = ("PAPERDIGEST_REQUIRE_POSTGRES", "CI")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against the real PostgreSQL server (tests/support/postgres.py)")


def server_required() -> bool:
    return any(os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no") for name in REQUIRED_VARIABLES)


def find_bindir() -> Path | None:
    """The directory that holds initdb, pg_ctl and postgres, or None."""
    candidates: list[Path] = []
    if os.environ.get("PAPERDIGEST_PG_BIN"):
        candidates.append(Path(os.environ["PAPERDIGEST_PG_BIN"]))
    if pg_config := shutil.which("pg_config"):
        try:
            candidates.append(
                Path(
                    subprocess.run(
                        [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
                    ).stdout.strip()
                )
            )
        except (OSError, subprocess.SubprocessError):
            pass
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _owner() -> pwd.struct_passwd | None:
    """The unprivileged user the cluster runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(
        "running as root and neither a 'postgres' nor a 'nobody' user exists: "
        "initdb refuses root; create an unprivileged user (useradd postgres)"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    base: Path  # the temporary directory: data/, the socket and the log
    port: int
    owner: pwd.struct_passwd | None
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """A server binary, as the cluster's owner."""
        user = {} if self.owner is None else {"user": self.owner.pw_uid, "group": self.owner.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(self.base), "TZ": "UTC"}
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.base,
            env=env,
            text=True,
            capture_output=True,
            timeout=timeout,
            **user,
        )  # type: ignore[call-overload]
        if result.returncode:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stdout}{result.stderr}\n{log}")
        return result

    def start(self) -> None:
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-k {self.base}",
                # a throwaway cluster: durability buys nothing and costs every commit a flush
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
                "-c shared_buffers=32MB",
            ]
        )
        self.run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
        )

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def admin(self, sql: str) -> None:
        import psycopg  # a test dependency through the main one: psycopg[binary]

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True, connect_timeout=10
        ) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # FORCE: an engine a test left open


def start_server() -> PostgresServer:
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install Debian's "
            "postgresql package or set PAPERDIGEST_PG_BIN"
        )
    owner = _owner()
    base = Path(tempfile.mkdtemp(prefix="paperdigest-pg-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    last: Exception | None = None
    for _ in range(3):  # a free port can be taken by someone else before the server binds it
        server = PostgresServer(bindir=bindir, base=base, port=_free_port(), owner=owner)
        try:
            server.start()
            return server
        except RuntimeError as error:
            last = error
            shutil.rmtree(server.data, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"the PostgreSQL test server did not start: {last}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = start_server()
    except FileNotFoundError as missing:
        if server_required():
            pytest.fail(
                f"{missing} (a server is required here: PAPERDIGEST_REQUIRE_POSTGRES or CI is set)", pytrace=False
            )
        pytest.skip(f"{missing}; the PostgreSQL cases are skipped")
    yield server
    server.stop()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database on the test server, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend in turn: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_database")
