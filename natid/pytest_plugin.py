"""The ``natid`` pytest plugin: a real, in-process natid for a portal's own test suite.

Installed with natid (entry point ``pytest11``, name ``natid``). It adds:

* ``natid_idp`` (session-scoped): an ``EmbeddedIdp`` — natid serving on a loopback port
  with a small seeded population, the demo citizens' accounts and a registered test
  portal. ``natid_idp.issuer``, ``.discovery_url``, ``.transport()``, ``.portal``
  (``client_id``, ``client_secret``, ``redirect_uri``), ``.citizen(level)``,
  ``.new_citizen(level)``, ``.login(...)`` → ``TokenSet``, ``.browser()``,
  ``.client(...)`` to register more portals, ``.machine_token(client)``.
* ``natid_idp_options`` (session-scoped): what ``natid_idp`` starts with, read from
  these ini options; override the fixture in a ``conftest.py`` to compute them::

      [pytest]
      natid_redirect_uris = http://localhost:8080/auth/callback
      natid_scopes = openid profile national_id
      natid_citizens = 500

Nothing happens unless a test asks for ``natid_idp``: this module imports only pytest at
import time, so a suite that never uses it (natid's own included) pays nothing. The types
a test may name (``TokenSet``, ``AuthorizationError``, ``CitizenLoginError``,
``CitizenCredentials``, ``PortalClient``, ``EmbeddedIdp``, ``IdpOptions``) are importable
from here, loaded on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from natid.embedded_idp import EmbeddedIdp, IdpOptions

# Loaded on first access (PEP 562), so that merely installing the plugin costs nothing.
_LAZY_EXPORTS = {
    "AuthorizationError": "natid.oidc_flow",
    "CitizenCredentials": "natid.oidc_flow",
    "PortalClient": "natid.oidc_flow",
    "TokenSet": "natid.oidc_flow",
    "CitizenLoginError": "natid.citizen_browser",
    "CitizenBrowser": "natid.citizen_browser",
    "EmbeddedIdp": "natid.embedded_idp",
    "IdpOptions": "natid.embedded_idp",
}

_INI_OPTIONS = (
    ("natid_redirect_uris", "linelist", "Redirect URIs of natid's test portal."),
    ("natid_post_logout_redirect_uris", "linelist", "Post-logout redirect URIs of the portal."),
    ("natid_scopes", "string", "Scopes the test portal is registered for (space separated)."),
    ("natid_auth_method", "string", "The test portal's token endpoint authentication method."),
    ("natid_min_level", "string", "The test portal's minimum level of assurance (1 or 2)."),
    ("natid_citizens", "string", "How many synthetic citizens to seed (at least the demo ones)."),
    ("natid_seed", "string", "Seed of the synthetic population (same seed, same citizens)."),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, kind, help_text in _INI_OPTIONS:
        parser.addini(name, help_text, type=kind, default=None)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def natid_idp_options(pytestconfig: pytest.Config) -> IdpOptions:
    """The embedded natid's options from the ini file (defaults for what is not set)."""
    from natid.embedded_idp import IdpOptions

    defaults = IdpOptions()

    def ini(name: str) -> object:
        value = pytestconfig.getini(name)
        return value if value not in (None, "", []) else None

    redirect_uris = ini("natid_redirect_uris")
    post_logout = ini("natid_post_logout_redirect_uris")
    scopes = ini("natid_scopes")
    return IdpOptions(
        citizens=int(str(ini("natid_citizens") or defaults.citizens)),
        seed=int(str(ini("natid_seed") or defaults.seed)),
        redirect_uris=tuple(redirect_uris)
        if isinstance(redirect_uris, list)
        else defaults.redirect_uris,
        post_logout_redirect_uris=tuple(post_logout) if isinstance(post_logout, list) else (),
        scopes=tuple(str(scopes).split()) if scopes else defaults.scopes,
        auth_method=str(ini("natid_auth_method") or defaults.auth_method),
        min_level=int(str(ini("natid_min_level") or defaults.min_level)),
    )


@pytest.fixture(scope="session")
def natid_idp(
    natid_idp_options: IdpOptions, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedIdp]:
    """A running natid for the whole session (see the module docstring)."""
    from natid.embedded_idp import EmbeddedIdp

    idp = EmbeddedIdp.start(tmp_path_factory.mktemp("natid"), natid_idp_options)
    try:
        yield idp
    finally:
        idp.close()


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
