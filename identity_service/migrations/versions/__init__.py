"""Revision scripts of the identity history (a package, so that installs ship them)."""
