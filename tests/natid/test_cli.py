"""The ``natid`` command line: errors are one line, never a traceback or a help box."""

from __future__ import annotations

import subprocess
import sys


def test_a_bad_argument_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "natid", "population", "seed", "--citizens", "abc"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Invalid value for '--citizens'")
    assert "Traceback" not in result.stderr
