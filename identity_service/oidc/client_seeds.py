"""Loading client registrations from a TOML file (``seeds/clients.toml``) at startup.

Each ``[[client]]`` table holds the fields of ``ClientRegistration`` (``scopes`` as a
list or a space-separated string). Loading is idempotent: unchanged clients are not
written, changed ones are updated, so editing the file and restarting takes effect.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.registration import ClientRegistration, ClientRegistrationError

_LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "scopes", "grant_types")


def read_client_seeds(path: Path) -> list[ClientRegistration]:
    """The registrations in ``path``; ``ClientRegistrationError`` names a bad entry."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    registrations = []
    for index, entry in enumerate(data.get("client", [])):
        try:
            registrations.append(_registration(entry))
        except (TypeError, ValueError) as error:
            raise ClientRegistrationError(f"{path.name}: client #{index + 1}: {error}") from None
    return registrations


def load_client_seeds(registry: ClientRegistry, path: Path) -> int:
    """Store every registration of ``path``; the number of clients created or updated."""
    return sum(registry.upsert(registration) for registration in read_client_seeds(path))


def _registration(entry: dict[str, Any]) -> ClientRegistration:
    values = dict(entry)
    for name in _LIST_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = values[name].split()
        if name in values:
            values[name] = tuple(values[name])
    if "client_id" not in values:
        raise ValueError("client_id is required in a seed file")
    registration = ClientRegistration(**values)
    method = registration.token_endpoint_auth_method
    if method.startswith("client_secret_") and not registration.client_secret:
        raise ValueError(f"{method} needs a client_secret in a seed file")
    return registration
