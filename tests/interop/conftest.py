"""A real Entente node per test module, driven by third-party TAXII clients.

The `node` fixture creates a fresh data directory, runs `entente init`,
starts `entente serve --listen 127.0.0.1:0`, reads the chosen port from the
server's stderr and stops the process when the module is done. A module may
set `NODE_INIT_ARGS` (a list of extra `entente init` arguments).
"""

import shutil
import tempfile
from pathlib import Path

import pytest

from interop_support import BINARY, Node


@pytest.fixture(scope="module")
def node(request):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build -p entente` first")
    tmp = tempfile.mkdtemp(prefix="entente-interop-")
    n = Node(Path(tmp) / "node", getattr(request.module, "NODE_INIT_ARGS", ()))
    try:
        yield n
    finally:
        n.stop()
        shutil.rmtree(tmp, ignore_errors=True)
