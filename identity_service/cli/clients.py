"""``natid clients``: register relying parties (portals) and list them.

``add`` prints the new client's id and its secret exactly once (``--json`` for scripts:
``{"client_id": ..., "client_secret": ...}``, the secret null for ``private_key_jwt`` and
public clients); only a keyed hash of the secret is stored. A machine client (a portal's
back-end calling the e-KYC API) registers with ``--grant-types client_credentials`` and no
redirect URI. Settings and the engine are built inside each command; failures end with a
one-line message and exit status 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from identity_service.cli.admin_audit import record_admin_action
from identity_service.config import IdentitySettings
from identity_service.db import (
    IdentityDatabaseError,
    create_identity_engine,
    create_identity_schema,
)
from identity_service.oidc.client_secrets import ClientSecretHasher
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.registration import ClientRegistration, ClientRegistrationError

app = typer.Typer(help="Relying parties (portals) of the IdP.", no_args_is_help=True)

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
IdTokenAlgorithm = Literal["ES256", "EdDSA", "RS256"]
_FAILURES = (ClientRegistrationError, IdentityDatabaseError, SQLAlchemyError, OSError)


@contextmanager
def _registry() -> Iterator[ClientRegistry]:
    settings = IdentitySettings()
    engine = None
    try:
        engine = create_identity_engine(settings.identity_database_url())
        create_identity_schema(engine)
        yield ClientRegistry(engine, ClientSecretHasher(settings.server_secret()))
    except _FAILURES as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        if engine is not None:
            engine.dispose()


@app.command()
def add(
    name: Annotated[str, typer.Option("--name", help="Display name shown to citizens.")],
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            "--redirect-uri",
            help="A redirect URI (repeat for several); exact match. Not needed by a "
            "machine client whose only grant is client_credentials.",
        ),
    ] = None,
    scopes: Annotated[
        str, typer.Option("--scopes", help='Allowed scopes, e.g. "openid profile address".')
    ] = "openid",
    auth_method: Annotated[
        AuthMethod, typer.Option("--auth-method", help="Token endpoint authentication.")
    ] = "client_secret_basic",
    jwks_file: Annotated[
        Path | None,
        typer.Option("--jwks-file", help="The client's public JWKS (JSON) for private_key_jwt."),
    ] = None,
    min_level: Annotated[
        int, typer.Option("--min-level", min=1, max=2, help="Minimum level of assurance.")
    ] = 1,
    grant_types: Annotated[
        list[str] | None,
        typer.Option("--grant-types", help="Grant types (space/comma separated or repeated)."),
    ] = None,
    id_token_alg: Annotated[
        IdTokenAlgorithm | None,
        typer.Option("--id-token-alg", help="ID token signing algorithm (default RS256)."),
    ] = None,
    sector_identifier: Annotated[
        str | None,
        typer.Option(
            "--sector-identifier",
            help="Pairwise subject sector (default: the redirect URIs' host).",
        ),
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="Where logout may return (repeat)."),
    ] = None,
    backchannel_logout_uri: Annotated[
        str | None,
        typer.Option(
            "--backchannel-logout-uri",
            help="Where logout tokens are POSTed (OIDC Back-Channel Logout).",
        ),
    ] = None,
    backchannel_logout_session_required: Annotated[
        bool,
        typer.Option(
            "--backchannel-logout-session-required",
            help="Logout tokens must carry the sid claim.",
        ),
    ] = False,
    require_par: Annotated[
        bool,
        typer.Option("--require-par", help="Authorization requests only through /par (RFC 9126)."),
    ] = False,
    require_dpop: Annotated[
        bool,
        typer.Option(
            "--require-dpop", help="Token requests need a DPoP proof; tokens are key-bound."
        ),
    ] = False,
    require_signed_request_object: Annotated[
        bool,
        typer.Option(
            "--require-signed-request-object",
            help="Authorization requests only as signed request objects (RFC 9101).",
        ),
    ] = False,
    fapi2: Annotated[
        bool,
        typer.Option(
            "--fapi2",
            help="The FAPI 2.0 Security Profile: private_key_jwt, PAR, DPoP, short codes.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Register a portal; prints its client id and secret (the secret only this once)."""
    jwks = _read_jwks(jwks_file) if jwks_file is not None else None
    registration = ClientRegistration(
        name=name,
        redirect_uris=tuple(redirect_uri or ()),
        scopes=tuple(_split(scopes)),
        token_endpoint_auth_method=auth_method,
        jwks=jwks,
        min_level=min_level,
        grant_types=tuple(_split(*grant_types)) if grant_types else ("authorization_code",),
        id_token_signed_response_alg=id_token_alg,
        sector_identifier=sector_identifier,
        post_logout_redirect_uris=tuple(post_logout_redirect_uri or ()),
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        require_pushed_authorization_requests=require_par,
        dpop_bound_access_tokens=require_dpop,
        require_signed_request_object=require_signed_request_object,
        fapi2=fapi2,
    )
    with _registry() as registry:
        created = registry.register(registration)
    client = created.client
    record_admin_action(
        IdentitySettings(),
        "client_registered",
        client_id=client.client_id,
        details={
            "scopes": list(client.scopes),
            "grant_types": list(client.grant_types),
            "auth_method": client.token_endpoint_auth_method,
            "min_level": client.min_level,
            "fapi2": client.fapi2,
        },
    )
    if as_json:
        output = {"client_id": created.client.client_id, "client_secret": created.client_secret}
        typer.echo(json.dumps(output))
        return
    typer.echo(f"client_id: {created.client.client_id}")
    if created.client_secret is not None:
        typer.echo(f"client_secret: {created.client_secret}")
        typer.echo("Store the secret now: it is not shown again (only its hash is kept).")


@app.command("list")
def list_clients(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every registered portal (never its secret)."""
    with _registry() as registry:
        clients = registry.list_clients()
    if as_json:
        typer.echo(json.dumps([client.public_view() for client in clients], indent=2))
        return
    table = Table(title="Registered clients")
    for column in ("client id", "name", "auth method", "min level", "scopes", "redirect URIs"):
        table.add_column(column)
    for client in clients:
        table.add_row(
            client.client_id,
            client.name,
            client.token_endpoint_auth_method,
            str(client.min_level),
            " ".join(client.scopes),
            "\n".join(client.redirect_uris),
        )
    Console().print(table)


def _read_jwks(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        typer.echo(f"error: cannot read the JWKS file {path}: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None


def _split(*values: str) -> list[str]:
    return [part for value in values for part in value.replace(",", " ").split()]


def _one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else error.__class__.__name__
