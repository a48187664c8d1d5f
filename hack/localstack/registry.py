"""Two image registries on loopback, so what a user does with a registry works here too.

* ``registry``: open, like the registry a cluster's nodes pull from. The README's install
  section pushes the image there and installs the chart from it, line by line
  (``tests/e2e/test_readme_install.py``).
* ``registry-auth``: every request needs a user and password (htpasswd), like a private
  registry; a run's pod pulls from it only with an ``imagePullSecret``
  (``tests/integration/test_operator_pods.py``).

Both are the CNCF distribution registry, built from its Go module like Helm
(:func:`.build.build_registry`). They listen on 127.0.0.1: the node's containerd and the
stack's Docker both run on this host, and both speak plain HTTP to a ``localhost:<port>``
registry without further configuration.
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

import bcrypt

from .processes import State, free_port, is_alive, spawn, wait_for
from .settings import Dirs

__all__ = [
    "REGISTRIES",
    "REGISTRY_USER",
    "ensure_registries",
    "registry_env",
]

#: Process (and port) name -> whether it asks for a password.
REGISTRIES = {"registry": False, "registry-auth": True}
REGISTRY_USER = "almanac"


def _home(dirs: Dirs, name: str) -> Path:
    return dirs.state / name


def password_file(dirs: Dirs) -> Path:
    """The private registry's password, 0600 (what a user keeps in their secret store)."""
    return _home(dirs, "registry-auth") / "password"


def _config(dirs: Dirs, name: str, port: int, with_password: bool) -> Path:
    home = _home(dirs, name)
    (home / "data").mkdir(parents=True, exist_ok=True)
    lines = [
        "version: 0.1",
        "log: {level: warn}",
        f"storage: {{filesystem: {{rootdirectory: {home / 'data'}}}, delete: {{enabled: true}}}}",
        f"http: {{addr: '127.0.0.1:{port}', secret: {secrets.token_hex(16)}}}",
    ]
    if with_password:
        password = password_file(dirs)
        if not password.exists():
            password.write_text(secrets.token_hex(12))
            password.chmod(0o600)
        hashed = bcrypt.hashpw(password.read_text().encode(), bcrypt.gensalt(rounds=10))
        htpasswd = home / "htpasswd"
        htpasswd.write_text(f"{REGISTRY_USER}:{hashed.decode()}\n")
        lines.append(f"auth: {{htpasswd: {{realm: almanac-stack, path: {htpasswd}}}}}")
    config = home / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _answers(port: int) -> bool:
    """The registry API answers (200 open, 401 with a password)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
            return True
    except urllib.error.HTTPError as refused:
        return refused.code == 401


def ensure_registries(dirs: Dirs, state: State) -> None:
    """Start whichever registry is not running (a stack from before they existed too)."""
    for name, with_password in REGISTRIES.items():
        record = state.processes.get(name)
        if record is not None and is_alive(record):
            continue
        port = state.ports.get(name) or free_port("127.0.0.1")
        state.ports[name] = port
        config = _config(dirs, name, port, with_password)
        log = dirs.logs / f"{name}.log"
        spawn(state, name, [dirs.registry, "serve", config], log)
        wait_for(
            name,
            partial(_answers, port),
            timeout=30,
            log=log,
            record=state.processes[name],
        )


def registry_env(dirs: Dirs, state: State) -> dict[str, str]:
    """The registries and the stack's Docker, for the user's shell (``hack/stack env``)."""
    if not all(name in state.ports for name in REGISTRIES):
        return {}
    return {
        "DOCKER_HOST": f"unix://{dirs.docker_socket}",
        "ALMANAC_REGISTRY": f"localhost:{state.ports['registry']}",
        "ALMANAC_PRIVATE_REGISTRY": f"localhost:{state.ports['registry-auth']}",
        "ALMANAC_PRIVATE_REGISTRY_USER": REGISTRY_USER,
        "ALMANAC_PRIVATE_REGISTRY_PASSWORD_FILE": str(password_file(dirs)),
    }
