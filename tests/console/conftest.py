"""The console tests: a demo node per module (see console_support.py); the
browser tests drive Debian's Chromium (/usr/bin/chromium) with Playwright,
never a downloaded browser."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
