"""Postgres, Kafka and the Docker engine used to build images.

Postgres and Kafka listen on the bridge gateway so pods reach them as IP:port (no cluster
DNS needed); host processes use the same address.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from .host import require_tool
from .processes import State, spawn, wait_for
from .progress import run_logged
from .settings import GATEWAY, REPO, Dirs

__all__ = [
    "database_url",
    "kafka_bootstrap",
    "start_dockerd",
    "start_kafka",
    "start_postgres",
    "wait_dockerd",
    "wait_kafka",
    "wait_postgres",
]

PG_BIN = "/usr/lib/postgresql/15/bin"


def database_url(state: State) -> str:
    password = state.secrets["postgres"]
    return f"postgresql://almanac:{password}@{GATEWAY}:{state.ports['postgres']}/almanac"


def kafka_bootstrap(state: State) -> str:
    return f"{GATEWAY}:{state.ports['kafka']}"


def _tcp_open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=1):
        return True


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


def start_kafka(dirs: Dirs, state: State) -> None:
    """A single-node KRaft broker: formatted once, then started with -Xmx512m."""
    home = dirs.state / "kafka"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "server.properties"
    port, controller = state.ports["kafka"], state.ports["kafka-controller"]
    config.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners=PLAINTEXT://{GATEWAY}:{port},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://{GATEWAY}:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={home / 'data'}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "",
            ]
        )
    )
    require_tool("java")
    classpath = f"{dirs.kafka / 'libs'}/*"
    log = dirs.logs / "kafka.log"
    java = [
        "java",
        "-Xmx512m",
        "-Xms128m",
        f"-Dlog4j2.configurationFile={REPO / 'hack' / 'kafka' / 'log4j2.properties'}",
        "-cp",
        classpath,
    ]
    if not (home / "data" / "meta.properties").exists():
        run_logged(
            "kafka storage format",
            [*java, "kafka.tools.StorageTool", *storage_format_args(_kafka_cluster_id(), config)],
            log,
        )
    spawn(state, "kafka", [shutil.which("java") or "java", *java[1:], "kafka.Kafka", config], log)


def storage_format_args(cluster_id: str, config: Path) -> list[str]:
    """``kafka-storage format`` arguments. The id is joined with ``=``: a random id may
    start with ``-``, which a separate argument would turn into an unknown option."""
    return ["format", f"--cluster-id={cluster_id}", f"--config={config}"]


def _kafka_cluster_id() -> str:
    """A KRaft cluster id is 16 random bytes in URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def wait_kafka(dirs: Dirs, state: State) -> None:
    wait_for(
        "kafka",
        lambda: _tcp_open(GATEWAY, state.ports["kafka"]),
        timeout=60,
        log=dirs.logs / "kafka.log",
        record=state.processes["kafka"],
    )


def start_dockerd(dirs: Dirs, state: State) -> None:
    """Docker builds the images; its image store is a cache shared by every stack."""
    dirs.docker.mkdir(parents=True, exist_ok=True)
    dirs.docker_data.mkdir(parents=True, exist_ok=True)
    spawn(
        state,
        "dockerd",
        [
            "/usr/sbin/dockerd",
            f"--host=unix://{dirs.docker_socket}",
            f"--data-root={dirs.docker_data}",
            f"--exec-root={dirs.docker / 'exec'}",
            f"--pidfile={dirs.docker / 'dockerd.pid'}",
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--ip-forward=false",
            "--storage-driver=overlay2",
            "--log-level=warn",
        ],
        dirs.logs / "dockerd.log",
    )


def wait_dockerd(dirs: Dirs, state: State) -> None:
    def ready() -> bool:
        probe = subprocess.run(
            ["/usr/bin/docker", "-H", f"unix://{dirs.docker_socket}", "version"],
            capture_output=True,
            check=False,
        )
        return probe.returncode == 0

    wait_for(
        "dockerd",
        ready,
        timeout=60,
        log=dirs.logs / "dockerd.log",
        record=state.processes["dockerd"],
    )
