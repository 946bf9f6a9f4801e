"""Revision scripts of the population history (a package, so that installs ship them)."""
