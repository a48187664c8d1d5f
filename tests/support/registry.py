"""The local stack's image registries as a user meets them: ``docker login`` and ``push``.

Docker here is the stack's own engine (``DOCKER_HOST`` from ``hack/stack env``); each
caller gets a configuration directory of its own, so a login never lands in the
machine's ``~/.docker`` and two suites never share credentials.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class Docker:
    """The ``docker`` client against the stack's engine, with its own config directory."""

    def __init__(self, config_dir: Path) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ, DOCKER_CONFIG=str(config_dir))
        assert "DOCKER_HOST" in self.env, "no DOCKER_HOST: the stack predates its registries"

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 600) -> str:
        done = subprocess.run(
            ["docker", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout

    def login(self, registry: str, user: str, password_file: str) -> None:
        password = Path(password_file).read_text().strip()
        self("login", "-u", user, "--password-stdin", registry, stdin=password)

    def push(self, image: str, target: str) -> str:
        """Push ``image`` as ``target``, as an image of its own: a label makes its id
        differ from ``image``'s. The node's containerd (Debian's 1.6) loses the older name
        of an image id when a pod pulls the same id under another name: ``image`` run with
        ``imagePullPolicy: Never`` is then "not present" until containerd restarts."""
        dockerfile = f"FROM {image}\nLABEL dev.almanac.test.pushed-as={target}\n"
        self("build", "--network=none", "-t", target, "-", stdin=dockerfile)
        self("push", target)
        return target
