"""Endpoints served by plain Starlette routes: same answers, same errors, same OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from identity_service.api.direct_routes import (
    FORM_CONTENT_TYPE,
    NotDirectError,
    direct,
    form_fields,
    serve_directly,
)
from identity_service.metrics import Metrics, MetricsMiddleware

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://natid.test")


def _app_with(router: APIRouter) -> tuple[FastAPI, Metrics]:
    app = FastAPI()
    metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(LookupError)
    async def lookup_failed(request: Request, error: LookupError) -> JSONResponse:
        return JSONResponse({"handled": str(error)}, status_code=404)

    app.include_router(router)
    serve_directly(app, [router])
    return app, metrics


def _echo_router() -> APIRouter:
    router = APIRouter()

    @router.post("/echo/{word}", summary="Echo a word", openapi_extra={"x-hot": True})
    @direct
    async def echo(request: Request) -> JSONResponse:
        word = request.path_params["word"]
        if word == "teapot":
            raise HTTPException(418, "short and stout", headers={"X-Kind": "teapot"})
        if word == "missing":
            raise LookupError("no such word")
        return JSONResponse({"word": word, "body": (await request.body()).decode()})

    @router.get("/slow")
    async def slow(request: Request) -> dict[str, bool]:
        return {"fastapi": True}

    return router


async def test_a_direct_endpoint_answers_with_its_path_parameters_and_body() -> None:
    app, _ = _app_with(_echo_router())
    async with _client(app) as client:
        response = await client.post("/echo/xin-chao", content=b"hello")
        assert response.json() == {"word": "xin-chao", "body": "hello"}
        # The other routes of the router are FastAPI's as before.
        assert (await client.get("/slow")).json() == {"fastapi": True}


async def test_errors_of_a_direct_endpoint_go_through_the_apps_exception_handlers() -> None:
    app, _ = _app_with(_echo_router())
    async with _client(app) as client:
        teapot = await client.post("/echo/teapot")
        assert (teapot.status_code, teapot.json()) == (418, {"detail": "short and stout"})
        assert teapot.headers["x-kind"] == "teapot"
        missing = await client.post("/echo/missing")
        assert (missing.status_code, missing.json()) == (404, {"handled": "no such word"})


async def test_another_method_is_refused_with_405_and_allow_as_before() -> None:
    app, metrics = _app_with(_echo_router())
    async with _client(app) as client:
        response = await client.get("/echo/a")
        assert (await client.post("/echo/b")).status_code == 200
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    # Both counted under the route's template, not as unmatched.
    samples = {
        (sample.labels["route"], sample.labels["status"])
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "natid_http_requests_total"
    }
    assert samples == {("/echo/{word}", "405"), ("/echo/{word}", "200")}


async def test_a_get_endpoint_answers_head_as_its_fastapi_route_did() -> None:
    router = APIRouter()

    @router.get("/claims")
    @direct
    async def claims(request: Request) -> JSONResponse:
        return JSONResponse({"released": True})  # e.g. audited as a release of data

    app, _ = _app_with(router)
    async with _client(app) as client:
        head = await client.head("/claims")
        assert (await client.get("/claims")).json() == {"released": True}
    # Starlette's routes add HEAD to GET; FastAPI's do not, and a direct route keeps the
    # methods it was given: a HEAD must not run an endpoint whose answer it throws away.
    assert (head.status_code, head.headers["allow"]) == (405, "GET")


def test_the_openapi_document_still_describes_a_direct_endpoint() -> None:
    app, _ = _app_with(_echo_router())
    operation = app.openapi()["paths"]["/echo/{word}"]["post"]
    assert operation["summary"] == "Echo a word"
    assert operation["x-hot"] is True


def test_only_an_async_endpoint_of_the_request_alone_returning_a_response_is_direct() -> None:
    def synchronous(request: Request) -> Response:
        return Response()

    async def with_a_parameter(request: Request, word: str) -> Response:
        return Response()

    async def without_the_request(word: str) -> Response:
        return Response()

    async def returning_a_dict(request: Request) -> dict[str, Any]:
        return {}

    async def unannotated(request):  # type: ignore[no-untyped-def]
        return Response()

    for endpoint in (
        synchronous,
        with_a_parameter,
        without_the_request,
        returning_a_dict,
        unannotated,
    ):
        with pytest.raises(NotDirectError):
            direct(endpoint)  # type: ignore[arg-type]


def test_a_direct_endpoint_routed_with_dependencies_is_refused() -> None:
    async def check() -> None:
        return None

    async def endpoint(request: Request) -> Response:
        return Response()

    for router, dependencies in (
        (APIRouter(dependencies=[Depends(check)]), None),
        (APIRouter(), [Depends(check)]),
    ):
        router.add_api_route("/x", direct(endpoint), methods=["POST"], dependencies=dependencies)
        app = FastAPI()
        app.include_router(router)
        with pytest.raises(NotDirectError):
            serve_directly(app, [router])


def _form_router() -> APIRouter:
    router = APIRouter()

    @router.post("/form")
    @direct
    async def echo_form(request: Request) -> JSONResponse:
        return JSONResponse(await form_fields(request))

    return router


async def test_a_url_encoded_form_is_read_as_fastapi_form_parameters_read_it() -> None:
    app, _ = _app_with(_form_router())
    async with _client(app) as client:
        response = await client.post(
            "/form",
            content=b"name=first&name=Nguy%E1%BB%85n+V%C4%83n&blank=&plain=a%2Bb",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
    # The last of a repeated field, percent-escapes as UTF-8, '+' as a space, blanks kept.
    assert response.json() == {"name": "Nguyễn Văn", "blank": "", "plain": "a+b"}


async def test_a_multipart_form_gives_its_text_fields_and_no_files() -> None:
    app, _ = _app_with(_form_router())
    async with _client(app) as client:
        response = await client.post(
            "/form", data={"csrf_token": "t"}, files={"upload": ("a.txt", b"file body")}
        )
    assert response.json() == {"csrf_token": "t"}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"csrf_token": "t"}', "application/json"),
        ("&".join(f"f{index}=x" for index in range(1001)).encode(), FORM_CONTENT_TYPE),
        (b"", ""),
    ],
    ids=["json", "too many fields", "no body"],
)
async def test_a_body_that_is_not_a_page_form_gives_no_fields(
    content: bytes, content_type: str
) -> None:
    app, _ = _app_with(_form_router())
    headers = {"Content-Type": content_type} if content_type else {}
    async with _client(app) as client:
        response = await client.post("/form", content=content, headers=headers)
    assert (response.status_code, response.json()) == (200, {})
