"""``hack/stack dev``: the stack plus CRDs, two operator replicas, the REST facade and a
sample job.

The replicas and the facade are host processes from the checkout's virtualenv, recorded by
pid like every other component, so ``hack/stack down`` stops them too (first, so the
replicas release the Lease). The facade's base URL is printed on stdout.

The facade signs in as a user of its own (``FACADE_USER``, a client certificate in
``facade.kubeconfig``) and the replicas register the webhook with that user trusted, as
the chart does for the facade's ServiceAccount: the facade checks specs itself, so its
writes skip the webhook's round trip.
"""

from __future__ import annotations

import base64
import json
import os
import sys

from . import services
from .build import kubectl
from .manifests import LEASE_NAMESPACE, apply_dev_manifests
from .pki import issue_client_cert, make_pki, write_kubeconfig
from .processes import State, free_port, is_alive, spawn, wait_for, wait_http
from .progress import say, step
from .settings import PROJECT_IMAGE, REPO, Dirs

__all__ = ["FACADE_PATH", "FACADE_USER", "REPLICAS", "start_dev"]

FACADE_PATH = "/api/scheduler/v1"
#: A header for organisation 000101, user jdoe, to try the facade by hand.
DEMO_IDENTITY = base64.b64encode(
    json.dumps(
        {"identity": {"org_id": "000101", "type": "User", "user": {"username": "jdoe"}}}
    ).encode()
).decode()

REPLICAS = 2
#: The facade's Kubernetes user (in ``system:masters``, like the admin: a local stack).
FACADE_USER = "almanac-facade"


def _image(state: State) -> str:
    return state.secrets.get("image", PROJECT_IMAGE)


def _running(state: State, name: str) -> bool:
    """Whether ``name`` runs; says so when it runs an older project image than the one
    just built (it keeps it, and the prune keeps that image for it)."""
    record = state.processes.get(name)
    if record is None or not is_alive(record):
        return False
    started_with = record.get("image")
    if started_with and started_with != _image(state):
        say(f"{name} still runs {started_with}; 'make down' then 'make dev' to run the new one")
    return True


def _recorded(state: State, name: str) -> None:
    """Note on the process record which image it was started with: the prune of older
    project images keeps it while the process runs."""
    state.processes[name]["image"] = _image(state)


def _facade_kubeconfig(dirs: Dirs, state: State) -> str:
    """Write ``dirs.facade_kubeconfig``: the API server as ``FACADE_USER``."""
    pki = make_pki(dirs.pki)
    issue_client_cert(pki, "facade", FACADE_USER, "system:masters")
    server = f"https://127.0.0.1:{state.ports['apiserver']}"
    write_kubeconfig(dirs.facade_kubeconfig, pki, server, "facade")
    return str(dirs.facade_kubeconfig)


def _start_facade(dirs: Dirs, state: State) -> int:
    """The REST facade as a host process, recorded like the replicas; returns its port."""
    port = state.ports.setdefault("facade", free_port())
    if _running(state, "facade"):
        say(f"the REST facade runs on :{port}")
    else:
        with step(f"starting the REST facade on :{port}"):
            env = dict(
                os.environ,
                KUBECONFIG=_facade_kubeconfig(dirs, state),
                ALMANAC_API_HOST="127.0.0.1",
                ALMANAC_API_PORT=str(port),
                ALMANAC_DATABASE_URL=services.database_url(state),
                ALMANAC_KAFKA_BOOTSTRAP=services.kafka_bootstrap(state),
                ALMANAC_IMAGE=_image(state),
                # The web console's dev sign-in page (no gateway here), and a read-only
                # user to try the viewer role with.
                ALMANAC_CONSOLE_DEV_LOGIN="true",
                ALMANAC_API_READONLY_USERS=os.environ.get("ALMANAC_API_READONLY_USERS", "viewer"),
            )
            log = dirs.logs / "facade.log"
            spawn(state, "facade", [sys.executable, "-m", "almanac", "api"], log, env=env, cwd=REPO)
            _recorded(state, "facade")
            state.save(dirs.state_file)
            wait_for(
                "facade",
                wait_http(f"http://127.0.0.1:{port}/readyz"),
                timeout=60,
                log=log,
                record=state.processes["facade"],
            )
    # An export line, like the others on stdout, so `eval "$(hack/stack dev)"` still works.
    print(f"export ALMANAC_API_URL=http://127.0.0.1:{port}{FACADE_PATH}")
    say(f"web console: http://127.0.0.1:{port}/console (dev sign-in)")
    return port


def _start_operator(dirs: Dirs, state: State, name: str, webhook_port: int) -> None:
    port = free_port()
    state.ports[f"{name}-metrics"] = port
    env = dict(
        os.environ,
        KUBECONFIG=str(dirs.kubeconfig),
        ALMANAC_IMAGE=_image(state),
        ALMANAC_DATABASE_URL=services.database_url(state),
        ALMANAC_KAFKA_BOOTSTRAP=services.kafka_bootstrap(state),
        ALMANAC_IDENTITY=name,
        ALMANAC_LEASE_NAMESPACE=LEASE_NAMESPACE,
        ALMANAC_METRICS_PORT=str(port),
        # Both replicas serve admission on one port (SO_REUSEPORT), one cert folder.
        ALMANAC_WEBHOOK_PORT=str(webhook_port),
        ALMANAC_WEBHOOK_BIND="127.0.0.1",
        ALMANAC_WEBHOOK_CERT_DIR=str(dirs.state / "webhook-certs"),
        ALMANAC_WEBHOOK_URL=f"https://127.0.0.1:{webhook_port}",
        ALMANAC_WEBHOOK_TRUSTED_USERS=FACADE_USER,
    )
    log = dirs.logs / f"{name}.log"
    spawn(state, name, [sys.executable, "-m", "almanac", "operator"], log, env=env, cwd=REPO)
    _recorded(state, name)
    state.save(dirs.state_file)
    wait_for(
        name,
        wait_http(f"http://127.0.0.1:{port}/readyz"),
        timeout=60,
        log=log,
        record=state.processes[name],
    )


def start_dev(dirs: Dirs, state: State) -> None:
    """The manifests, replicas and facade, each only if missing: a rerun on a running
    ``make dev`` applies, starts and restarts nothing."""
    apply_dev_manifests(dirs, state)
    webhook_port = state.ports.setdefault("webhook", free_port())
    names = [f"operator-{index}" for index in range(REPLICAS)]
    missing = [name for name in names if not _running(state, name)]
    if missing:
        with step(f"starting {' and '.join(missing)} (admission webhook on :{webhook_port})"):
            for name in missing:
                _start_operator(dirs, state, name, webhook_port)
    else:
        say(f"{REPLICAS} operator replicas run (admission webhook on :{webhook_port})")
    facade_port = _start_facade(dirs, state)
    say("watch it:")
    for line in (
        f"  export KUBECONFIG={dirs.kubeconfig}",
        f"  {kubectl()} get sj -A -w",
        f"  {kubectl()} get jobs -n almanac-demo",
        f"  tail -f {dirs.logs}/operator-0.log {dirs.logs}/operator-1.log",
        *(
            f"  curl -s http://127.0.0.1:{state.ports[f'operator-{i}-metrics']}/metrics"
            for i in range(REPLICAS)
        ),
        f"  curl -s http://127.0.0.1:{facade_port}{FACADE_PATH}/jobs -H 'x-rh-identity: "
        f"{DEMO_IDENTITY}'",
        "  make down   # stops everything",
    ):
        print(line, file=sys.stderr)
