"""The node: a bridge for pods, containerd (CRI) with runc, the kubelet and kube-proxy.

The node's containerd is our own instance (own root, state and socket), so it never
touches a containerd the machine may already run. runc is reached through a wrapper
because this sandbox lacks CAP_SYS_RESOURCE: runc cannot apply the negative
``oom_score_adj`` the kubelet gives sandboxes, so the wrapper raises it to 0.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

from .pki import Pki
from .processes import State, spawn
from .settings import BRIDGE, CLUSTER_NAME, GATEWAY, PAUSE_IMAGE, POD_CIDR, Dirs

__all__ = [
    "RUNC_WRAPPER",
    "ensure_bridge",
    "remove_bridge",
    "start_containerd",
    "start_kube_proxy",
    "start_kubelet",
]

RUNC_WRAPPER = """#!/usr/bin/python3 -I
# runc wrapper written by hack/stack: on "create", lift a negative process.oomScoreAdj
# to 0 (this sandbox may not lower oom_score_adj), then exec the real runc.
import json, os, sys
args = sys.argv[1:]
if "create" in args:
    bundle = args[args.index("--bundle") + 1] if "--bundle" in args else "."
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        spec = json.load(f)
    process = spec.get("process") or {}
    if process.get("oomScoreAdj", 0) < 0:
        process["oomScoreAdj"] = 0
        with open(path, "w") as f:
            json.dump(spec, f)
os.execv("/usr/sbin/runc", ["runc", *args])
"""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def ensure_bridge() -> None:
    """Create the pod bridge with the gateway address before the API server binds to it."""
    if _ip("link", "show", BRIDGE, check=False).returncode != 0:
        _ip("link", "add", BRIDGE, "type", "bridge")
    if GATEWAY not in _ip("-4", "addr", "show", BRIDGE).stdout:
        _ip("addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
    with contextlib.suppress(OSError):
        subprocess.run(["modprobe", "br_netfilter"], check=False, capture_output=True)


def remove_bridge() -> None:
    _ip("link", "delete", BRIDGE, check=False)


def _write_cni(dirs: Dirs) -> Path:
    folder = dirs.state / "cni"
    folder.mkdir(parents=True, exist_ok=True)
    conf = {
        "cniVersion": "1.0.0",
        "name": CLUSTER_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": GATEWAY}]],
                    "dataDir": str(dirs.state / "cni-ipam"),
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (folder / "10-almanac.conflist").write_text(json.dumps(conf, indent=2))
    return folder


def start_containerd(dirs: Dirs, state: State) -> None:
    base = dirs.containerd
    base.mkdir(parents=True, exist_ok=True)
    wrapper = base / "runc-wrapper"
    wrapper.write_text(RUNC_WRAPPER)
    wrapper.chmod(0o755)
    cni = _write_cni(dirs)
    config = base / "config.toml"
    config.write_text(
        f"""version = 2
root = "{base / "root"}"
state = "{base / "state"}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{dirs.containerd_socket}"
[ttrpc]
  address = "{base / "containerd.sock.ttrpc"}"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{wrapper}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
"""
    )
    spawn(
        state,
        "containerd",
        ["/usr/bin/containerd", "--config", config, "--log-level", "warn"],
        dirs.logs / "containerd.log",
    )


def start_kubelet(dirs: Dirs, state: State, pki: Pki) -> None:
    root = dirs.kubelet
    root.mkdir(parents=True, exist_ok=True)
    config = dirs.state / "kubelet-config.yaml"
    config.write_text(
        f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://{dirs.containerd_socket}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
evictionHard: {{}}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
address: 127.0.0.1
port: {state.ports["kubelet"]}
readOnlyPort: 0
healthzPort: 0
serializeImagePulls: false
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {pki.ca_cert}}}
authorization: {{mode: Webhook}}
clusterDomain: cluster.local
"""
    )
    spawn(
        state,
        "kubelet",
        [
            dirs.bin / "kubelet",
            f"--config={config}",
            f"--kubeconfig={dirs.kubeconfig}",
            "--hostname-override=localhost",
            f"--root-dir={root}",
            f"--cert-dir={root / 'pki'}",
            "--v=1",
        ],
        dirs.logs / "kubelet.log",
    )


def start_kube_proxy(dirs: Dirs, state: State) -> None:
    spawn(
        state,
        "kube-proxy",
        [
            dirs.bin / "kube-proxy",
            f"--kubeconfig={dirs.kubeconfig}",
            "--proxy-mode=iptables",
            f"--cluster-cidr={POD_CIDR}",
            "--hostname-override=localhost",
            f"--metrics-bind-address=127.0.0.1:{state.ports['kube-proxy-metrics']}",
            f"--healthz-bind-address=127.0.0.1:{state.ports['kube-proxy-healthz']}",
            "--conntrack-max-per-core=0",
            "--v=1",
        ],
        dirs.logs / "kube-proxy.log",
    )
