import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from leak_support import Workdir  # noqa: E402


@pytest.fixture
def work():
    w = Workdir()
    yield w
    w.close()
