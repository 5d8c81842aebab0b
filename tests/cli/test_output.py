"""Output every CLI user relies on: `entente … | head` ends quietly."""

import os
import subprocess

from cli_support import BINARY, env


def test_a_closed_pipe_ends_the_command_quietly(work):
    n = work.node()
    for i in range(3):
        n.cli("collection", "create", "--title", f"c{i}")
    read, write = os.pipe()
    os.close(read)  # the reader (`head`) has gone before the first line
    p = subprocess.run([str(BINARY), "--data", str(n.dir), "collection", "list"],
                       stdout=write, stderr=subprocess.PIPE, text=True, env=env(), timeout=60)
    os.close(write)
    assert p.stderr == "", p.stderr
    assert p.returncode == 141, p.returncode
