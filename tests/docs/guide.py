"""Reading ``docs/integrating.md``: its marked tables, commands, outputs and code blocks.

The guide marks what tests check with HTML comments (invisible when rendered):
``<!-- NAME:start -->`` … ``<!-- NAME:end -->`` around a table, and ``<!-- KIND: LABEL -->``
right before a fenced block.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "integrating.md"


def text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def table(name: str) -> list[list[str]]:
    """The body rows of the table between ``<!-- name:start -->`` and ``:end``, as cells."""
    source = text()
    start = source.index(f"<!-- {name}:start -->")
    end = source.index(f"<!-- {name}:end -->", start)
    lines = [line.strip() for line in source[start:end].splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return rows[2:]  # after the header and the |---| line


def block(kind: str, label: str | None = None) -> str:
    """The fenced block right after ``<!-- kind: label -->`` (or ``<!-- kind -->``)."""
    marker = f"<!-- {kind}: {label} -->" if label else f"<!-- {kind} -->"
    source = text()
    start = source.index(marker) + len(marker)
    opening = source.index("```", start)
    body_start = source.index("\n", opening) + 1
    return source[body_start : source.index("\n```", body_start) + 1]


def labels(kind: str) -> list[str]:
    return re.findall(rf"<!-- {re.escape(kind)}: ([^ ]+) -->", text())


def command_arguments(label: str) -> list[str]:
    """The ``natid …`` command of a ``guide-command`` block, as argv after ``natid``."""
    command = block("guide-command", label).replace("\\\n", " ")
    words = shlex.split(command)
    assert words[0] == "natid", command
    return words[1:]


def code_names(cell: str) -> list[str]:
    """The `backticked` names in a table cell."""
    return re.findall(r"`([^`]+)`", cell)
