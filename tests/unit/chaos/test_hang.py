"""Black-holing a component reaches every process below its root, not only the root (a
stopped postmaster alone would leave the open connections' backends answering)."""

from __future__ import annotations

import os
import subprocess
import sys

from hack.chaos.hang import _children

#: A child that starts a grandchild, says its pid, and waits for its stdin to close.
PARENT = (
    "import subprocess, sys;"
    "g = subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()'],"
    " stdin=subprocess.PIPE);"
    "print(g.pid, flush=True); sys.stdin.read(); g.stdin.close(); g.wait()"
)


def test_the_tree_holds_the_root_its_child_and_grandchild() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        grandchild = int(child.stdout.readline())
        tree = _children(os.getpid())
        assert tree[0] == os.getpid()
        assert child.pid in tree
        assert grandchild in tree
        assert set(_children(child.pid)) == {child.pid, grandchild}
    finally:
        child.stdin.close()
        child.wait(10)
