"""``natid serve``: run the identity service with uvicorn.

uvicorn builds the app in each worker through the factory
``identity_service.app:app_from_environment``. Before that, the command checks what would
otherwise fail in every worker with a traceback: several workers need a shared state
store (Redis), the population database must exist, and both schemas must be current (an
empty identity database is migrated here; anything older says: run natid db upgrade).

Logs are JSON lines on stderr with the request id (``identity_service.json_logging``),
uvicorn's own and access logs included. The configuration is handed to uvicorn as a
``dictConfig`` so that every worker process applies it, not only the supervisor.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
import uvicorn

from identity_service.config import IdentitySettings
from identity_service.db import IdentityDatabaseError, prepare_identity_database
from population_db.db import PopulationDatabaseError, PopulationSchemaError
from population_db.registry import PopulationRegistry

APP_FACTORY = "identity_service.app:app_from_environment"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
JSON_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "identity_service.json_logging.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "identity_service.json_logging.JsonLinesHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    # uvicorn's loggers hand their records to the root handler (no plain-text handlers).
    "loggers": {
        **{
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
        # Each worker checks the schema version at start; Alembic narrates that at INFO.
        "alembic": {"level": "WARNING"},
    },
}


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (more than 1 needs Redis).")
    ] = 1,
) -> None:
    """Run the IdP (OpenID Connect provider) with uvicorn; OpenAPI docs at /docs."""
    settings = IdentitySettings()
    if workers > 1 and not settings.redis_url:
        typer.echo(
            "error: --workers > 1 needs NATID_REDIS_URL: codes and sessions must be shared "
            "between the worker processes",
            err=True,
        )
        raise typer.Exit(code=1)
    issuer = urlsplit(settings.issuer)
    if (
        issuer.hostname in _LOOPBACK_HOSTS
        and (issuer.port or _DEFAULT_PORTS.get(issuer.scheme)) != port
    ):
        # Tokens name the issuer; a mismatch makes every client reject them.
        typer.echo(
            f"warning: NATID_ISSUER is {settings.issuer} but the server listens on port {port}",
            err=True,
        )
    try:
        PopulationRegistry.from_url(settings.population_database_url()).close()
    except PopulationDatabaseError as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else "unavailable"
        hint = (
            ""
            if isinstance(error, PopulationSchemaError)
            else " (seed it with: natid population seed)"
        )
        typer.echo(f"error: {message}{hint}", err=True)
        raise typer.Exit(code=1) from None
    try:
        # An empty database is migrated here, once, rather than by every worker at once.
        prepare_identity_database(settings.identity_database_url())
    except IdentityDatabaseError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        log_config=JSON_LOG_CONFIG,
        # The app writes the access lines itself (json_logging.log_access), at a fraction
        # of the cost.
        access_log=False,
    )
