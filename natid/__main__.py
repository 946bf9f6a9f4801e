"""``python -m natid``: the same as the ``natid`` command (the demo launcher uses it)."""

from natid.cli import main

main()
