"""Hot endpoints served by plain Starlette routes at the head of the app's route table.

FastAPI's per-request work for one of its routes — finding the route through the
included router, solving the dependencies, two exit stacks, the exception wrapper — cost
about 70 µs of CPU per request on these machines (in-process: a bare signer 190 → 117
µs), a seventh of a machine token. An endpoint that takes nothing but the
``Request`` and returns a ``Response`` needs none of it. Mark it ``@direct`` (under its
``@router`` decorator) and ``serve_directly(app, routers)`` puts a Starlette ``Route``
for it first in the app's routes: Starlette's own request handler (the request, the same
exception handlers, the response) and nothing more.

Its ``APIRoute`` stays where it was, so the OpenAPI document still describes the
endpoint and its answers (its parameters and form through ``openapi_extra``, built with
``openapi_path_parameters`` and ``openapi_form``); for the methods the direct route
serves, requests never reach it. Other methods get the same 405 as before. A direct
endpoint reads its path parameters from ``request.path_params`` and a page's form with
``form_fields``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# As Starlette's form parser: more fields than this is not a form a page sent.
MAX_FORM_FIELDS = 1000
DirectEndpoint = Callable[[Request], Awaitable[Response]]
_Endpoint = TypeVar("_Endpoint", bound=DirectEndpoint)
_DIRECT_MARK = "__natid_direct__"


class NotDirectError(TypeError):
    """An endpoint marked ``@direct`` needs something only FastAPI's routes give."""


def direct(endpoint: _Endpoint) -> _Endpoint:
    """Mark an endpoint to be served by a plain Starlette route (see the module).

    It must be ``async``, take exactly one parameter annotated ``Request`` and be
    annotated to return a ``Response``: there is no dependency injection, validation or
    serialisation on this path, so anything else would fail on its first request.
    """
    name = getattr(endpoint, "__qualname__", repr(endpoint))
    if not inspect.iscoroutinefunction(endpoint):
        raise NotDirectError(f"{name}: a direct endpoint is an async function")
    hints = typing.get_type_hints(endpoint)
    parameters = list(inspect.signature(endpoint).parameters.values())
    if len(parameters) != 1 or hints.get(parameters[0].name) is not Request:
        raise NotDirectError(f"{name}: a direct endpoint takes one parameter, the Request")
    returns = hints.get("return")
    if not (inspect.isclass(returns) and issubclass(returns, Response)):
        raise NotDirectError(f"{name}: a direct endpoint is annotated to return a Response")
    setattr(endpoint, _DIRECT_MARK, True)
    return endpoint


def is_direct(endpoint: object) -> bool:
    return getattr(endpoint, _DIRECT_MARK, False) is True


class DirectRoute(Route):
    """A Starlette route that names itself in the scope, as FastAPI's routes do (FastAPI's
    router leaves that to the route; the metrics label requests by its path template),
    and serves exactly the methods it is given: Starlette adds HEAD to a GET route,
    FastAPI does not, and a HEAD would run the endpoint only to drop its answer (a
    ``/userinfo`` HEAD would be audited as a release of data nobody received)."""

    def __init__(
        self, path: str, endpoint: DirectEndpoint, *, methods: list[str], name: str | None
    ) -> None:
        super().__init__(path, endpoint, methods=methods, name=name)
        self.methods = {method.upper() for method in methods}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def serve_directly(app: FastAPI, routers: Iterable[APIRouter]) -> list[DirectRoute]:
    """Put a Starlette route for each ``@direct`` endpoint of ``routers`` first in ``app``.

    Call it once the routers are included. The routes keep the routers' order and are
    returned. An endpoint marked but routed with dependencies (the router's or the
    decorator's) is refused: they would silently not run.
    """
    routes: list[DirectRoute] = []
    for router in routers:
        for api_route in router.routes:
            if not (isinstance(api_route, APIRoute) and is_direct(api_route.endpoint)):
                continue
            if api_route.dependencies or router.dependencies:
                raise NotDirectError(
                    f"{api_route.path}: a direct endpoint's route cannot have dependencies"
                )
            routes.append(
                DirectRoute(
                    api_route.path,
                    api_route.endpoint,
                    methods=sorted(api_route.methods),
                    name=api_route.name,
                )
            )
    app.router.routes[0:0] = routes
    return routes


async def form_fields(request: Request) -> dict[str, str]:
    """A page's form as FastAPI's ``Form()`` parameters read it: the last value of each
    text field (files ignored); empty when the body is not a form.

    A URL-encoded form, what browsers send, is parsed with ``urllib.parse`` (Starlette's
    streaming parser costs several times more on a form of three fields); the body is
    already bounded by ``RequestLimitsMiddleware``. Other bodies (multipart) go to
    Starlette's parser."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        async with request.form() as form:  # closes the spooled files of any uploads
            return {name: value for name, value in form.multi_items() if isinstance(value, str)}
    try:
        # Bytes as Latin-1, percent-escapes as UTF-8: what Starlette's parser does.
        pairs = parse_qsl(
            (await request.body()).decode("latin-1"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:  # too many fields
        return {}
    return dict(pairs)


def openapi_path_parameters(**descriptions: str) -> list[dict[str, Any]]:
    """OpenAPI for a direct endpoint's path parameters (string each), by name."""
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": description,
        }
        for name, description in descriptions.items()
    ]


def openapi_form(**descriptions: str) -> dict[str, Any]:
    """OpenAPI for a direct endpoint's URL-encoded form of optional text fields."""
    properties = {
        name: {"type": "string", "description": description}
        for name, description in descriptions.items()
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                FORM_CONTENT_TYPE: {"schema": {"type": "object", "properties": properties}}
            },
        }
    }
