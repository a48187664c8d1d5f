"""The stack's PostgreSQL: initdb once as the postgres user, start, wait, create the database.

It listens on loopback and the bridge gateway; run pods on the pod network may log in with
the generated password, host tools use the Unix socket in the state directory.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess

from .processes import State, spawn, wait_for
from .progress import run_logged
from .settings import GATEWAY, Dirs

__all__ = ["PG_BIN", "database_url", "start_postgres", "wait_postgres"]

PG_BIN = "/usr/lib/postgresql/15/bin"


def database_url(state: State) -> str:
    password = state.secrets["postgres"]
    return f"postgresql://almanac:{password}@{GATEWAY}:{state.ports['postgres']}/almanac"


def start_postgres(dirs: Dirs, state: State) -> None:
    """initdb once (as the postgres user, which is what Postgres requires), then start."""
    data = dirs.postgres / "data"
    log = dirs.logs / "postgres.log"
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(dirs.postgres, ignore_errors=True)
        dirs.postgres.mkdir(parents=True)
        shutil.chown(dirs.postgres, "postgres", "postgres")
        pwfile = dirs.postgres / "pwfile"
        password = secrets.token_hex(12)
        state.secrets["postgres"] = password
        pwfile.write_text(password + "\n")
        shutil.chown(pwfile, "postgres", "postgres")
        run_logged(
            "initdb",
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                f"{PG_BIN}/initdb",
                "-D",
                data,
                "-U",
                "almanac",
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            log,
        )
        pwfile.unlink()
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 10.244.0.0/24 scram-sha-256\n")
    (dirs.postgres / "sock").mkdir(exist_ok=True)
    shutil.chown(dirs.postgres / "sock", "postgres", "postgres")
    spawn(
        state,
        "postgres",
        [
            f"{PG_BIN}/postgres",
            "-D",
            data,
            "-p",
            str(state.ports["postgres"]),
            "-c",
            f"listen_addresses=127.0.0.1,{GATEWAY}",
            "-c",
            f"unix_socket_directories={dirs.postgres / 'sock'}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        log,
        user="postgres",
    )


def wait_postgres(dirs: Dirs, state: State) -> None:
    port = state.ports["postgres"]
    sock = dirs.postgres / "sock"

    def ready() -> bool:
        probe = subprocess.run(
            [f"{PG_BIN}/pg_isready", "-h", str(sock), "-p", str(port), "-U", "almanac"],
            capture_output=True,
            check=False,
        )
        return probe.returncode == 0

    wait_for(
        "postgres",
        ready,
        timeout=30,
        log=dirs.logs / "postgres.log",
        record=state.processes["postgres"],
    )
    created = subprocess.run(
        [
            f"{PG_BIN}/psql",
            "-h",
            str(sock),
            "-p",
            str(port),
            "-U",
            "almanac",
            "-d",
            "postgres",
            "-tAc",
            "SELECT 1 FROM pg_database WHERE datname = 'almanac'",
        ],
        capture_output=True,
        text=True,
        check=True,
        user="postgres",
    ).stdout.strip()
    if created != "1":
        subprocess.run(
            [f"{PG_BIN}/createdb", "-h", str(sock), "-p", str(port), "-U", "almanac", "almanac"],
            capture_output=True,
            check=True,
            user="postgres",
        )
