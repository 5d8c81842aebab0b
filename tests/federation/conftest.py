import sys
from pathlib import Path

# The interop helpers (a node on loopback, STIX checks) serve these tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
