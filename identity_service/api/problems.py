"""HTTP problem details (RFC 9457) for the REST APIs (the e-KYC verify API).

Every error of a REST API answers ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail`` (and extension members where they help, such as the fields that
failed validation), ``Cache-Control: no-store``, and never echoes the request's values.
``type`` is a URN naming the problem: ``urn:natid:problem:<slug>``.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from identity_service.api.errors import NO_STORE

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:natid:problem:"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    body = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return ProblemResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})
