"""Postgres, Kafka and the Docker engine used to build images.

Postgres and Kafka listen on the bridge gateway so pods reach them as IP:port (no cluster
DNS needed); host processes use the same address. Postgres's start-up is in
:mod:`.postgres` and re-exported here, so callers reach every service through this module.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from .host import require_tool
from .pki import KafkaTls, make_kafka_tls
from .postgres import database_url, start_postgres, wait_postgres
from .processes import State, free_port, spawn, wait_for
from .progress import run_logged
from .settings import GATEWAY, REPO, Dirs

__all__ = [
    "configure_kafka",
    "database_url",
    "kafka_bootstrap",
    "kafka_outdated",
    "kafka_test_env",
    "start_dockerd",
    "start_kafka",
    "start_postgres",
    "wait_dockerd",
    "wait_kafka",
    "wait_postgres",
]


def kafka_bootstrap(state: State) -> str:
    return f"{GATEWAY}:{state.ports['kafka']}"


def _tcp_open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=1):
        return True


KAFKA_USER = "almanac"
KAFKA_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
#: Listener name -> (state port name, security protocol). PLAINTEXT is what everything
#: uses by default; SASL and TLS exist so the clients' security settings meet a real broker.
KAFKA_LISTENERS = {
    "PLAINTEXT": ("kafka", "PLAINTEXT"),
    "SASL": ("kafka-sasl", "SASL_PLAINTEXT"),
    "TLS": ("kafka-tls", "SASL_SSL"),
}


def _kafka_home(dirs: Dirs) -> Path:
    return dirs.state / "kafka"


def kafka_password_file(dirs: Dirs) -> Path:
    """The SASL user's password, 0600 in the state directory (what a mounted Secret is)."""
    return _kafka_home(dirs) / "sasl.password"


def kafka_test_env(dirs: Dirs, state: State) -> dict[str, str]:
    """The secured listeners and their credentials for tests (none before they exist)."""
    if "kafka-sasl" not in state.ports or "kafka-tls" not in state.ports:
        return {}
    return {
        "ALMANAC_TEST_KAFKA_SASL_BOOTSTRAP": f"{GATEWAY}:{state.ports['kafka-sasl']}",
        "ALMANAC_TEST_KAFKA_TLS_BOOTSTRAP": f"{GATEWAY}:{state.ports['kafka-tls']}",
        "ALMANAC_TEST_KAFKA_CAFILE": str(KafkaTls(_kafka_home(dirs) / "tls").ca_cert),
        "ALMANAC_TEST_KAFKA_SASL_USER": KAFKA_USER,
        "ALMANAC_TEST_KAFKA_SASL_PASSWORD_FILE": str(kafka_password_file(dirs)),
    }


def kafka_outdated(state: State) -> bool:
    """A broker started before the SASL and TLS listeners existed (restart it once)."""
    return any(port not in state.ports for port, _ in KAFKA_LISTENERS.values())


def kafka_properties(state: State, data: Path, password: str, keystore: Path) -> list[str]:
    """server.properties of the one KRaft node: PLAINTEXT (inter-broker), SASL_PLAINTEXT
    and SASL_SSL on the gateway, the controller on loopback. PLAIN users come from the
    JAAS line; SCRAM users live in the metadata log (:func:`_add_scram_user`)."""
    controller = state.ports["kafka-controller"]
    urls = [
        f"{name}://{GATEWAY}:{state.ports[port]}" for name, (port, _) in KAFKA_LISTENERS.items()
    ]
    protocols = [f"{name}:{protocol}" for name, (_, protocol) in KAFKA_LISTENERS.items()]
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'user_{KAFKA_USER}="{password}";'
    )
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    jaas = [
        f"listener.name.{listener}.{mechanism.lower()}.sasl.jaas.config="
        + (plain if mechanism == "PLAIN" else scram)
        for listener in ("sasl", "tls")
        for mechanism in KAFKA_MECHANISMS
    ]
    return [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller}",
        f"listeners={','.join(urls)},CONTROLLER://127.0.0.1:{controller}",
        f"advertised.listeners={','.join(urls)}",
        "controller.listener.names=CONTROLLER",
        f"listener.security.protocol.map={','.join(protocols)},CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        f"sasl.enabled.mechanisms={','.join(KAFKA_MECHANISMS)}",
        *jaas,
        "listener.name.tls.ssl.keystore.type=PEM",
        f"listener.name.tls.ssl.keystore.location={keystore}",
        f"log.dirs={data}",
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


def configure_kafka(dirs: Dirs, state: State) -> Path:
    """Ports, the SASL password, the TLS files and server.properties; idempotent, and
    an older stack's formatted store simply gains the new listeners on its next start."""
    home = _kafka_home(dirs)
    home.mkdir(parents=True, exist_ok=True)
    for port, _ in KAFKA_LISTENERS.values():
        if port not in state.ports:
            state.ports[port] = free_port(GATEWAY)
    password = state.secrets.get("kafka-sasl") or secrets.token_hex(16)
    state.secrets["kafka-sasl"] = password
    _write_private(kafka_password_file(dirs), password + "\n")
    tls = make_kafka_tls(home / "tls", (GATEWAY, "127.0.0.1"))
    config = home / "server.properties"
    _write_private(
        config, "\n".join(kafka_properties(state, home / "data", password, tls.keystore))
    )
    return config


def _write_private(path: Path, text: str) -> None:
    """Write a 0600 file (created so, never readable by others even for an instant)."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def _kafka_java(dirs: Dirs, heap: str = "-Xmx512m") -> list[str]:
    return [
        "java",
        heap,
        "-Xms128m",
        f"-Dlog4j2.configurationFile={REPO / 'hack' / 'kafka' / 'log4j2.properties'}",
        "-cp",
        f"{dirs.kafka / 'libs'}/*",
    ]


def start_kafka(dirs: Dirs, state: State) -> None:
    """A single-node KRaft broker: formatted once, then started with -Xmx512m."""
    config = configure_kafka(dirs, state)
    home = _kafka_home(dirs)
    require_tool("java")
    log = dirs.logs / "kafka.log"
    java = _kafka_java(dirs)
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
    """Wait for the PLAINTEXT listener, then make sure the SCRAM user exists."""
    wait_for(
        "kafka",
        lambda: _tcp_open(GATEWAY, state.ports["kafka"]),
        timeout=60,
        log=dirs.logs / "kafka.log",
        record=state.processes["kafka"],
    )
    if "kafka-sasl" in state.secrets:
        _add_scram_user(dirs, state.secrets["kafka-sasl"], f"{GATEWAY}:{state.ports['kafka']}")


def _add_scram_user(dirs: Dirs, password: str, bootstrap: str) -> None:
    """Upsert the SCRAM-SHA-256/512 credentials of the stack's user (KRaft keeps them in
    its metadata log, so this runs once per store and password: a marker next to the
    store records the cluster id and a digest of the password it was done for)."""
    home = _kafka_home(dirs)
    meta = (home / "data" / "meta.properties").read_text()
    digest = hashlib.sha256(password.encode()).hexdigest()[:16]
    marker = home / "scram.done"
    done = f"{_cluster_id(meta)}:{digest}"
    if marker.exists() and marker.read_text() == done:
        return
    # A properties file, so the password never appears on a command line (values in it
    # take no brackets, unlike --add-config's); one mechanism per request, because the
    # KRaft controller refuses a request that names the same user twice.
    configs = home / "scram.properties"
    try:
        for mechanism in (m for m in KAFKA_MECHANISMS if m.startswith("SCRAM-")):
            _write_private(configs, f"{mechanism}=password={password}\n")
            wait_for(
                f"kafka SCRAM user ({mechanism})",
                lambda: _alter_scram(dirs, configs, bootstrap),
                timeout=60,
                log=dirs.logs / "kafka-scram.log",
            )
    finally:
        configs.unlink(missing_ok=True)
    marker.write_text(done)


def _alter_scram(dirs: Dirs, configs: Path, bootstrap: str) -> bool:
    """One ``kafka-configs --alter`` run; false (retry) while the broker is not ready."""
    argv = [
        *_kafka_java(dirs, "-Xmx128m"),
        "kafka.admin.ConfigCommand",
        f"--bootstrap-server={bootstrap}",
        "--alter",
        "--entity-type=users",
        f"--entity-name={KAFKA_USER}",
        f"--add-config-file={configs}",
    ]
    log = dirs.logs / "kafka-scram.log"
    with log.open("ab") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=30)
    return done.returncode == 0


def _cluster_id(meta: str) -> str:
    for line in meta.splitlines():
        if line.startswith("cluster.id="):
            return line.partition("=")[2].strip()
    return ""


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
