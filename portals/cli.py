"""``serve NAME``: run one demo portal with uvicorn (a Typer app, mounted by ``natid``).

Each portal reads its settings from its own environment prefix (``NATID_PORTAL_BANK_*``
…) with its demo registration as defaults; the options here override them. A port that
is already taken is reported before uvicorn starts, in one line.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi import FastAPI

app = typer.Typer(help="The demo portals (OIDC relying parties of natid).", no_args_is_help=True)


@app.callback()
def portals() -> None:
    """The demo portals (OIDC relying parties of natid)."""


class PortalName(StrEnum):
    public_services = "public-services"
    bank = "bank"
    clinic = "clinic"


def _factories() -> dict[PortalName, tuple[type, Callable[..., FastAPI], int]]:
    # Imported here: building the command line must not import every portal's app.
    from portals.bank.app import create_app as create_bank
    from portals.bank.settings import DEMO_PORT as BANK_PORT
    from portals.bank.settings import BankSettings
    from portals.clinic.app import create_app as create_clinic
    from portals.clinic.settings import DEMO_PORT as CLINIC_PORT
    from portals.clinic.settings import ClinicSettings
    from portals.public_services.app import create_app as create_public_services
    from portals.public_services.settings import DEMO_PORT as PUBLIC_SERVICES_PORT
    from portals.public_services.settings import PublicServicesSettings

    return {
        PortalName.public_services: (
            PublicServicesSettings,
            create_public_services,
            PUBLIC_SERVICES_PORT,
        ),
        PortalName.bank: (BankSettings, create_bank, BANK_PORT),
        PortalName.clinic: (ClinicSettings, create_clinic, CLINIC_PORT),
    }


def default_port(name: PortalName) -> int:
    return _factories()[name][2]


def build_portal(
    name: PortalName,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    issuer: str | None = None,
    base_url: str | None = None,
    data_dir: Path | None = None,
) -> FastAPI:
    """The portal's app with its settings: environment, then these overrides."""
    settings_class, create_app, demo_port = _factories()[name]
    overrides: dict[str, Any] = {}
    if issuer:
        overrides["issuer"] = issuer
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if base_url:
        overrides["base_url"] = base_url
    elif port is not None and port != demo_port:
        browser_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        overrides["base_url"] = f"http://{browser_host}:{port}"
    return create_app(settings_class(**overrides))


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


@app.command()
def serve(
    name: Annotated[PortalName, typer.Argument(help="Which portal to run.")],
    port: Annotated[
        int | None, typer.Option(help="Port (default: the portal's demo port, 8101-8103).")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    issuer: Annotated[
        str | None, typer.Option(help="The IdP's issuer URL (default http://127.0.0.1:8000).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="The portal's URL as browsers see it; its /auth/callback must be "
            "registered at the IdP."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the portal keeps its database.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run one portal with uvicorn until Ctrl-C."""
    import uvicorn

    listen_port = port if port is not None else default_port(name)
    if not port_is_free(host, listen_port):
        typer.echo(f"error: port {listen_port} on {host} is already in use", err=True)
        raise typer.Exit(code=1)
    portal_app = build_portal(
        name, port=listen_port, host=host, issuer=issuer, base_url=base_url, data_dir=data_dir
    )
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s %(message)s")
    # uvicorn's access log would print callback URLs with their authorization codes;
    # AccessLogMiddleware logs every request without the query string instead.
    uvicorn.run(portal_app, host=host, port=listen_port, log_level=log_level, access_log=False)
