"""The stack's process bookkeeping: ports are never taken twice, pids are checked."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from hack.localstack.processes import State, free_port, is_alive


def test_free_port_skips_a_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ports = {free_port() for _ in range(20)}
    assert taken not in ports


def test_is_alive_checks_the_executable_not_just_the_pid() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert is_alive({"pid": child.pid, "exe": os.path.realpath(sys.executable)})
        assert not is_alive({"pid": child.pid, "exe": "/usr/bin/kubelet"})
    finally:
        child.kill()
        child.wait()
    assert not is_alive({"pid": child.pid, "exe": os.path.realpath(sys.executable)})


def test_state_round_trips_through_its_file(tmp_path: Path) -> None:
    state = State(ports={"apiserver": 6443}, processes={"etcd": {"pid": 1, "exe": "etcd"}})
    state.save(tmp_path / "state.json")
    assert State.load(tmp_path / "state.json") == state
    assert State.load(tmp_path / "missing.json") == State()
