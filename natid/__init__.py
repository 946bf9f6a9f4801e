"""Composition root: the ``natid`` command and the demo launcher. Nothing imports this."""
