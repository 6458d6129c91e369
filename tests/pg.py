"""A real PostgreSQL server for tests: Debian's binaries, a fresh cluster on loopback.

``running_postgres`` runs ``initdb`` into a temporary directory and starts the
server on 127.0.0.1 at a free port; it yields a SQLAlchemy URL
(``postgresql+psycopg://...``) to a fresh database and stops the server afterwards.
PostgreSQL refuses to run as root, so when the tests run as root the cluster
belongs to the ``postgres`` user that Debian's package creates.

Without PostgreSQL installed the tests that need it skip, and fail under CI
(``.ci/run`` installs it), like the browser tests without Chromium.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port

SERVER_USER = "postgres"  # Debian's package creates it; the server refuses to run as root


def postgres_bin() -> Path | None:
    """The directory of PostgreSQL's server binaries (initdb, pg_ctl), the newest version's."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    if found:  # Debian's layout; versions sort by number
        return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def require_postgres() -> Path:
    """The binaries' directory; skips the test without them, or fails it under CI."""
    where = postgres_bin()
    if where is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: .ci/run installs Debian's postgresql")
        pytest.skip("no PostgreSQL here: apt-get install -y postgresql")
    return where


def _as_server_user() -> list[str]:
    """The command prefix that runs the server's tools as a user PostgreSQL accepts."""
    return ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []


@contextmanager
def running_postgres(database: str = "dossier") -> Iterator[str]:
    """A PostgreSQL cluster on 127.0.0.1 at a free port; yields the database's URL."""
    bin_dir = require_postgres()
    # Not pytest's tmp_path: its parents are private to root, and the server user must reach it.
    home = Path(tempfile.mkdtemp(prefix="dossier-pg-"))
    data, log = home / "data", home / "server.log"
    if os.geteuid() == 0:
        shutil.chown(home, SERVER_USER, SERVER_USER)
    prefix = _as_server_user()
    port = free_port()

    def run(*command: str) -> None:
        result = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{server_log}"
            )

    # trust: any local user may connect as the superuser ``dossier``: a throwaway test cluster.
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "dossier", "--auth=trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
    try:
        url = f"postgresql+psycopg://dossier@127.0.0.1:{port}"
        _create_database(f"{url}/postgres", database)
        yield f"{url}/{database}"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session", name="postgres")
def postgres_fixture() -> Iterator[str]:
    """One PostgreSQL server for the session (import ``postgres_fixture`` to use it)."""
    with running_postgres() as url:
        yield url


def _create_database(admin_url: str, name: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


_made = iter(range(1, 1_000_000))


@pytest.fixture(name="pg_url")
def pg_url_fixture(postgres: str) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server (import
    ``pg_url_fixture`` and ``postgres_fixture`` to use it)."""
    name = f"test_{os.getpid()}_{next(_made)}"
    server = postgres.rsplit("/", 1)[0]
    _create_database(f"{server}/postgres", name)
    return f"{server}/{name}"
