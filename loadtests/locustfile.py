"""Locust entry point: the natid authentication hot path as a mix of user classes.

Run by ``natid loadtest`` (which provisions accounts and clients and starts the IdP), or by
hand against a provisioned IdP::

    NATID_LOADTEST_DIR=var/loadtest locust -f loadtests/locustfile.py --headless \\
        -u 50 -r 50 -t 60s --host http://127.0.0.1:8000 [--tags login kyc]

Default mix (user class weights; each user repeats its flow with a think time of
``NATID_LOADTEST_THINK_TIME`` seconds on average, 1 by default, 0 for back to back):

======================  ======  ===============================  =======================
user class              weight  tags                             one flow
======================  ======  ===============================  =======================
CitizenLogin            30      login                            full code flow + PKCE
EkycVerify              35      kyc                              bank's e-KYC verify call
SsoLogin                10      sso                              login at a second portal
TokenRefresh            10      refresh                          refresh-token rotation
ClientCredentials       5       client_credentials               a machine access token
PortalVerification      10      portal, introspection, jwks      introspect + JWKS fetch
======================  ======  ===============================  =======================

Logins and e-KYC checks are three quarters of the traffic, as in the real programme.
``--tags`` selects scenarios; user classes left without a task by it are dropped
(Locust would otherwise start users that cannot run).
"""

from __future__ import annotations

from typing import Any

from locust import events
from locust.env import Environment

from loadtests.scenarios.kyc import EkycVerify
from loadtests.scenarios.login import CitizenLogin, SsoLogin
from loadtests.scenarios.portal import PortalVerification
from loadtests.scenarios.tokens import ClientCredentials, TokenRefresh

__all__ = [
    "CitizenLogin",
    "ClientCredentials",
    "EkycVerify",
    "PortalVerification",
    "SsoLogin",
    "TokenRefresh",
]


def _runs_under(user_class: type, tags: set[str] | None, excluded: set[str] | None) -> bool:
    """Whether any task of ``user_class`` survives Locust's tag filter."""
    for task_function in user_class.tasks:
        task_tags = set(getattr(task_function, "locust_tag_set", set()))
        if tags is not None and not task_tags & tags:
            continue
        if excluded is not None and task_tags & excluded:
            continue
        return True
    return False


@events.init.add_listener
def _drop_users_without_tasks(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    tags = set(options.tags) if options is not None and options.tags else None
    excluded = set(options.exclude_tags) if options is not None and options.exclude_tags else None
    if tags is None and excluded is None:
        return
    kept = [u for u in environment.user_classes if _runs_under(u, tags, excluded)]
    if not kept:
        raise ValueError(f"no scenario has the tags {sorted(tags or [])}")
    environment.user_classes[:] = kept
