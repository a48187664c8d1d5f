"""etcd, kube-apiserver, kube-controller-manager and kube-scheduler.

The API server binds on all addresses and advertises the bridge gateway, so pods reach it
through the ``kubernetes`` Service (kube-proxy DNATs 10.0.0.1:443 to the gateway) while
people and tests use 127.0.0.1.
"""

from __future__ import annotations

import ssl

from .pki import Pki
from .processes import State, spawn, wait_for, wait_http
from .settings import GATEWAY, SERVICE_CIDR, Dirs

__all__ = [
    "api_ssl_context",
    "start_apiserver",
    "start_controllers",
    "start_etcd",
    "wait_apiserver",
    "wait_etcd",
]


def start_etcd(dirs: Dirs, state: State) -> None:
    client, peer = state.ports["etcd"], state.ports["etcd-peer"]
    spawn(
        state,
        "etcd",
        [
            dirs.bin / "etcd",
            "--name=almanac",
            f"--data-dir={dirs.state / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{client}",
            f"--advertise-client-urls=http://127.0.0.1:{client}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=almanac=http://127.0.0.1:{peer}",
            "--listen-metrics-urls=",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
        dirs.logs / "etcd.log",
    )


def wait_etcd(dirs: Dirs, state: State) -> None:
    wait_for(
        "etcd",
        wait_http(f"http://127.0.0.1:{state.ports['etcd']}/health"),
        timeout=30,
        log=dirs.logs / "etcd.log",
        record=state.processes["etcd"],
    )


def api_ssl_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    return context


def start_apiserver(dirs: Dirs, state: State, pki: Pki) -> None:
    spawn(
        state,
        "kube-apiserver",
        [
            dirs.bin / "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{state.ports['etcd']}",
            "--bind-address=0.0.0.0",
            f"--secure-port={state.ports['apiserver']}",
            f"--advertise-address={GATEWAY}",
            "--endpoint-reconciler-type=lease",
            f"--tls-cert-file={pki.path('apiserver.crt')}",
            f"--tls-private-key-file={pki.path('apiserver.key')}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.path('sa.pub')}",
            f"--service-account-signing-key-file={pki.path('sa.key')}",
            "--kubelet-preferred-address-types=Hostname,InternalIP",
            f"--kubelet-client-certificate={pki.admin_cert}",
            f"--kubelet-client-key={pki.admin_key}",
            "--profiling=false",
            "--v=1",
        ],
        dirs.logs / "kube-apiserver.log",
    )


def wait_apiserver(dirs: Dirs, state: State, pki: Pki, timeout: float = 60) -> None:
    wait_for(
        "kube-apiserver",
        wait_http(f"https://127.0.0.1:{state.ports['apiserver']}/readyz", api_ssl_context(pki)),
        timeout=timeout,
        log=dirs.logs / "kube-apiserver.log",
        record=state.processes["kube-apiserver"],
    )


def start_controllers(dirs: Dirs, state: State, pki: Pki) -> None:
    spawn(
        state,
        "kube-controller-manager",
        [
            dirs.bin / "kube-controller-manager",
            f"--kubeconfig={dirs.kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
            "--controllers=*",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.path('sa.key')}",
            f"--root-ca-file={pki.ca_cert}",
            "--v=1",
        ],
        dirs.logs / "kube-controller-manager.log",
    )
    spawn(
        state,
        "kube-scheduler",
        [
            dirs.bin / "kube-scheduler",
            f"--kubeconfig={dirs.kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
            "--v=1",
        ],
        dirs.logs / "kube-scheduler.log",
    )
