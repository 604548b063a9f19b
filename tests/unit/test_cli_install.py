"""The command line of a production install: the worker's extras only."""

from __future__ import annotations

import subprocess
import sys


class TestWithoutExtras:
    def test_the_command_line_starts_without_scikit_learn(self) -> None:
        """scikit-learn and matplotlib are extras (`evaluation`, `report`): every command module
        imports without them, so `churnwatch worker` runs on a production install."""
        blocked = "import sys; sys.modules['sklearn'] = None; sys.modules['matplotlib'] = None; "
        probe = blocked + "import cli.main; cli.main.app(['--help'], standalone_mode=False)"
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
