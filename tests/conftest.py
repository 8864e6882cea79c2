"""Shared set-up of the meta-level tests.

The fuzzer's helper modules (``tests/_fuzz_*.py``) are plain modules imported by name: this folder
goes on ``sys.path``, and pytest does not collect them itself (they hold no tests or doctests), so
each is executed once, under one name.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

collect_ignore_glob = ["_fuzz_*.py"]
