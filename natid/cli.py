"""The ``natid`` command: mounts each package's commands and the demo launcher.

The Typer application is assembled when ``main`` runs, never at import time, so that
importing this module builds no settings, engines or keys.
"""

from __future__ import annotations

import sys

import typer

# Typer ships its own click; UsageError (the base of BadParameter) is not re-exported.
from typer._click.exceptions import UsageError


def build_app() -> typer.Typer:
    from identity_service.cli import accounts, audit, clients, keys, serve
    from identity_service.cli import db as schema
    from identity_service.cli.loadtest import loadtest
    from natid import demo
    from population_db import cli as population
    from portals import cli as portals

    app = typer.Typer(
        help="natid: a simulated national e-identity and population-data service "
        "(synthetic data only).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.add_typer(population.app, name="population", help="The mock national population database.")
    app.add_typer(accounts.app, name="accounts", help="e-ID accounts of citizens.")
    app.add_typer(clients.app, name="clients", help="Relying parties (portals) of the IdP.")
    app.add_typer(keys.app, name="keys", help="Signing keys of the OpenID Connect provider.")
    app.add_typer(audit.app, name="audit", help="The tamper-evident audit log.")
    app.add_typer(portals.app, name="portals", help="The mock public-service portals.")
    app.add_typer(schema.app, name="db", help="Schema migrations of both databases.")
    app.command("serve", help="Run the identity service (IdP) with uvicorn.")(serve.serve)
    app.command("demo", help="Seed if needed, then start the IdP and the demo portals.")(demo.demo)
    app.command("loadtest", help="Run a Locust load test against a fresh IdP; write a report.")(
        loadtest
    )
    return app


def main() -> None:
    """Run the command; a usage error is one line on stderr (exit 2), never a help box."""
    try:
        code = build_app()(standalone_mode=False)
    except UsageError as error:
        if error.format_message():  # empty when a bare group printed its help
            hint = f" (see: {error.ctx.command_path} --help)" if error.ctx else ""
            typer.echo(f"error: {error.format_message()}{hint}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
