import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_support import BINARY, TempDir  # noqa: E402


@pytest.fixture()
def tmp_root():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: set ENTENTE_BIN")
    t = TempDir()
    try:
        yield t.path
    finally:
        t.cleanup()
