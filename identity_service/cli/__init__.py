"""Command-line sub-apps of the identity service, mounted by ``natid.cli``."""
