"""Reading the data files in ``seeds/``: where they are, and CSV with ``#`` comment lines.

Seed files carry their sources in leading ``#`` comment lines; this module skips them.
The directory is ``NATID_SEEDS_DIR`` if set, else ``seeds/`` at the project root.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

_DEFAULT_SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


def seeds_dir() -> Path:
    return Path(os.environ.get("NATID_SEEDS_DIR") or _DEFAULT_SEEDS_DIR)


def read_csv(name: str) -> list[dict[str, str]]:
    """All rows of ``seeds/<name>`` as dicts keyed by the header row."""
    path = seeds_dir() / name
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(_without_comments(handle)))


def _without_comments(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            yield line
