"""``hack/stack dev``: the stack plus CRDs, two operator replicas and a sample job.

The replicas are host processes from the checkout's virtualenv, recorded by pid like every
other component, so ``hack/stack down`` stops them too (first, so they release the Lease).
"""

from __future__ import annotations

import os
import subprocess
import sys

from .build import kubectl
from .processes import State, free_port, is_alive, spawn, wait_for, wait_http
from .progress import run_logged, say, step
from .settings import REPO, Dirs

__all__ = ["REPLICAS", "start_dev"]

REPLICAS = 2
LEASE_NAMESPACE = "almanac-system"


def _kubectl(dirs: Dirs, name: str, *args: str) -> None:
    run_logged(
        name, [kubectl(), f"--kubeconfig={dirs.kubeconfig}", *args], dirs.logs / "dev-kubectl.log"
    )


def start_dev(dirs: Dirs, state: State) -> None:
    with step("installing the CRDs and the sample ScheduledJob"):
        _kubectl(
            dirs,
            "apply CRDs",
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            str(REPO / "crds"),
        )
        _kubectl(
            dirs,
            "wait for CRDs",
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/scheduledjobs.almanac.dev",
        )
        templates = REPO / "config" / "templates"
        if templates.is_dir() and any(templates.glob("*.yaml")):
            _kubectl(dirs, "apply templates", "apply", "-f", str(templates))
        subprocess.run(
            [kubectl(), f"--kubeconfig={dirs.kubeconfig}", "create", "namespace", LEASE_NAMESPACE],
            capture_output=True,
            check=False,
        )
        _kubectl(
            dirs, "apply sample", "apply", "-f", str(REPO / "hack" / "examples" / "hello.yaml")
        )
    webhook_port = state.ports.setdefault("webhook", free_port())
    with step(f"starting {REPLICAS} operator replicas (admission webhook on :{webhook_port})"):
        for index in range(REPLICAS):
            name = f"operator-{index}"
            record = state.processes.get(name)
            if record is not None and is_alive(record):
                continue
            port = free_port()
            state.ports[f"{name}-metrics"] = port
            env = dict(
                os.environ,
                KUBECONFIG=str(dirs.kubeconfig),
                ALMANAC_IMAGE=state.secrets.get("image", "localhost/almanac:dev"),
                ALMANAC_IDENTITY=name,
                ALMANAC_LEASE_NAMESPACE=LEASE_NAMESPACE,
                ALMANAC_METRICS_PORT=str(port),
                # Both replicas serve admission on one port (SO_REUSEPORT), one cert folder.
                ALMANAC_WEBHOOK_PORT=str(webhook_port),
                ALMANAC_WEBHOOK_BIND="127.0.0.1",
                ALMANAC_WEBHOOK_CERT_DIR=str(dirs.state / "webhook-certs"),
                ALMANAC_WEBHOOK_URL=f"https://127.0.0.1:{webhook_port}",
            )
            spawn(
                state,
                name,
                [sys.executable, "-m", "almanac", "operator"],
                dirs.logs / f"{name}.log",
                env=env,
                cwd=REPO,
            )
            state.save(dirs.state_file)
            wait_for(
                name,
                wait_http(f"http://127.0.0.1:{port}/readyz"),
                timeout=60,
                log=dirs.logs / f"{name}.log",
                record=state.processes[name],
            )
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
        "  make down   # stops everything",
    ):
        print(line, file=sys.stderr)
