"""A newcomer's path: `stack up`, then commands with nothing exported use that stack; a wrong
address is one line with the fix, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stack.state import Addresses, recorded_stack, resolve

pytestmark = pytest.mark.integration


def churnwatch(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a clean environment: none of the CHURNWATCH_ settings exported unless given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=180,
    )


class TestResolve:
    def test_settings_win_and_the_recorded_stack_fills_the_rest(self, tmp_path: Path) -> None:
        """Set addresses are used as they are; unset ones come from the recorded stack."""
        state = tmp_path / "stack.json"
        state.write_text('{"kafka_bootstrap": "127.0.0.1:1111", "redis_url": "redis://127.0.0.1:2222/0"}')
        assert resolve("k:1", "redis://r:2/0", state) == Addresses(
            "k:1", "redis://r:2/0", "from the settings"
        )
        both = resolve(None, None, state)
        assert (both.kafka_bootstrap, both.redis_url) == ("127.0.0.1:1111", "redis://127.0.0.1:2222/0")
        assert str(state) in both.source
        assert resolve("k:1", None, state).redis_url == "redis://127.0.0.1:2222/0"

    def test_no_state_file_leaves_the_settings_as_they_are(self, tmp_path: Path) -> None:
        """Without a recorded stack nothing is invented."""
        assert recorded_stack(tmp_path / "absent.json") is None
        assert resolve(None, None, tmp_path / "absent.json").kafka_bootstrap is None


class TestNewcomerPath:
    def test_stack_up_then_publish_with_nothing_exported_uses_that_stack(self, tmp_path: Path) -> None:
        """`simulate --publish` after `stack up`, in the same directory, publishes to the recorded broker."""
        up = churnwatch(["stack", "up"], tmp_path)
        assert up.returncode == 0, up.stderr
        try:
            published = churnwatch(["simulate", "--customers", "20", "--days", "3", "--publish"], tmp_path)
            assert published.returncode == 0, published.stderr
            assert "recorded in churnwatch-data/stack.json" in published.stderr
            assert "Traceback" not in published.stderr
        finally:
            down = churnwatch(["stack", "down"], tmp_path)
            assert down.returncode == 0, down.stderr

    @pytest.mark.parametrize(
        "command", [["simulate", "--customers", "5", "--days", "1", "--publish"], ["worker"]]
    )
    def test_a_wrong_broker_address_is_one_line_with_the_fix(
        self, tmp_path: Path, command: list[str]
    ) -> None:
        """Nothing listens there: one line naming the address and the fix, exit code 2, no traceback."""
        result = churnwatch(command, tmp_path, CHURNWATCH_KAFKA_BOOTSTRAP="127.0.0.1:1")
        output = result.stdout + result.stderr
        assert result.returncode == 2
        assert "cannot reach the broker at 127.0.0.1:1" in output
        assert "churnwatch stack up" in output
        assert "Traceback" not in output
