"""A real Entente node per test module, driven by third-party TAXII clients.

The `node` fixture creates a fresh data directory, runs `entente init`,
starts `entente serve --listen 127.0.0.1:0`, reads the chosen port from the
server's stderr and stops the process when the module is done. A module may
set `NODE_INIT_ARGS` (a list of extra `entente init` arguments).

Every STIX object any test receives through taxii2-client (and so through
stix2's TAXII data store, which uses it) passes stix2-validator: the
client's GET is wrapped for the whole session.
"""

import shutil
import tempfile
from pathlib import Path

import pytest

from interop_support import BINARY, Node, assert_valid_stix


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


@pytest.fixture(scope="session", autouse=True)
def every_served_object_is_valid_stix():
    from taxii2client.common import _HTTPConnection

    original = _HTTPConnection.get

    def checked_get(self, url, headers=None, params=None):
        body = original(self, url, headers=headers, params=params)
        if isinstance(body, dict) and "/objects/" in url and not url.endswith("/versions/"):
            assert_valid_stix(body.get("objects", []))
        return body

    _HTTPConnection.get = checked_get
    yield
    _HTTPConnection.get = original
