"""``POST /api/v1/kyc/verify``: the e-KYC verification API for relying parties.

Request (a ``kyc.verify`` access token from the client credentials grant)::

    POST /api/v1/kyc/verify
    Authorization: Bearer eyJ...
    Content-Type: application/json

    {"personal_id_number": "001090012345", "full_name": "Nguyễn Văn An",
     "birth_date": "1990-05-17", "gender": "male", "otp": "123456"}

Response::

    {"result_jws": "eyJ...", "transaction_id": "6f1c...-..."}

The JWS and its claims are described in ``identity_service.kyc``; who may call and how
often in ``identity_service.kyc_access``. Errors are problem details (RFC 9457): 400
unreadable body, 413 too large, 415 not JSON, 422 invalid fields, 401 (with a ``Bearer``
challenge) no or a bad token, 403 ``insufficient_scope``, 429 with ``Retry-After`` (rate
limit, daily quota, or too many wrong one-time codes for the citizen), 503 when the
answer cannot be audited. Every outcome is counted in ``natid_kyc_calls_total``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from identity_service.api.deps import IdentityServices
from identity_service.api.direct_routes import direct
from identity_service.api.errors import NO_STORE, REALM
from identity_service.api.problems import PROBLEM_MEDIA_TYPE, problem_response
from identity_service.audit_writer import when_committed
from identity_service.kyc import KycOtpLockedError, KycQuery
from identity_service.kyc_access import (
    KycLimitError,
    KycScopeError,
    KycTokenError,
)
from identity_service.oidc.dpop import DPOP_HEADER, NONCE_HEADER
from identity_service.oidc.metadata import DPOP_ALGORITHMS, KYC_VERIFY_SCOPE
from population_db.identifiers import InvalidIdNumberError, PersonalIdNumber

router = APIRouter(tags=["e-KYC"])

KYC_VERIFY_PATH = "/api/v1/kyc/verify"
MAX_BODY_BYTES = 4096
MAX_NAME_LENGTH = 200
_JSON_MEDIA_TYPES = frozenset({"application/json"})


class KycVerifyRequest(BaseModel):
    """What the relying party holds about the citizen (and optionally their one-time code)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    personal_id_number: str = Field(pattern=r"^[0-9]{12}$", description="12 digits.")
    full_name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    birth_date: dt.date = Field(description="ISO 8601 date, YYYY-MM-DD.")
    gender: Literal["male", "female"]
    otp: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="The citizen's current code from their e-ID authenticator: a valid "
        "code makes a match a level-2 answer.",
    )

    @field_validator("personal_id_number")
    @classmethod
    def _structure(cls, value: str) -> str:
        try:
            return PersonalIdNumber.parse(value).value
        except InvalidIdNumberError:
            raise ValueError("not a valid personal identification number") from None

    @field_validator("full_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class KycVerifyResponse(BaseModel):
    result_jws: str = Field(description="Compact JWS, typ kyc-result+jwt, signed ES256.")
    transaction_id: str


_PROBLEM = {"content": {PROBLEM_MEDIA_TYPE: {}}}
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": KycVerifyRequest.model_json_schema()}},
    }
}


async def request_body(request: Request) -> bytes | None:
    """The raw body, or None when it is larger than ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


@router.post(
    KYC_VERIFY_PATH,
    summary="Verify a citizen's attributes against the population database",
    response_model=KycVerifyResponse,
    openapi_extra=_OPENAPI,
    responses={status: _PROBLEM for status in (400, 401, 403, 413, 415, 422, 429, 503)},
)
@direct  # the hot path of the API: a plain Starlette route, no dependency injection
async def verify(request: Request) -> Response:
    # With local storage its blocking steps are short (state counters, one primary-key
    # read, a signature) and run on the event loop; with Redis or PostgreSQL, any of them
    # may wait on the network, so they run in the thread pool. The wait for the audit
    # commit is awaited either way.
    services: IdentityServices = request.app.state.services
    outcome, response = await _verify(request, services, await request_body(request))
    metrics = services.metrics
    # Counted once the check's audit entry is committed: a failed commit is answered
    # with a 503 (CommitBeforeAnswerMiddleware), so the caller got an error.
    when_committed(lambda committed: metrics.kyc_call(outcome if committed else "error"))
    if DPOP_HEADER.lower() in request.headers:
        nonce = services.dpop.current_nonce()
        if nonce is not None:
            response.headers[NONCE_HEADER] = nonce
    return response


async def _verify(
    request: Request, services: IdentityServices, body: bytes | None
) -> tuple[str, Response]:
    if services.local_storage:
        admitted = _admitted_query(request, services, body)
    else:
        admitted = await anyio.to_thread.run_sync(_admitted_query, request, services, body)
    if isinstance(admitted, tuple):
        return admitted
    caller_id, query = admitted.client_id, admitted.query
    # A code check reads the account and several lockout counters: off the loop.
    in_thread = query.otp is not None or not services.local_storage
    try:
        answer = await services.kyc.verify(caller_id, query, in_thread=in_thread)
    except KycOtpLockedError as error:
        return "rate_limited", _too_many("otp_locked", error.retry_after)
    # A commit that fails is answered with a 503 by CommitBeforeAnswerMiddleware, which
    # waits for it after this returns.
    body_out = {"result_jws": answer.result_jws, "transaction_id": answer.transaction_id}
    return answer.result, JSONResponse(body_out, headers=NO_STORE)


@dataclass(frozen=True, slots=True)
class _AdmittedQuery:
    client_id: str
    query: KycQuery


def _admitted_query(
    request: Request, services: IdentityServices, body: bytes | None
) -> _AdmittedQuery | tuple[str, Response]:
    """The caller's query once its token and limits admit it, or the outcome and refusal."""
    try:
        caller = services.kyc_access.authenticate(
            request.headers.get("authorization"), request.headers.getlist(DPOP_HEADER)
        )
        services.kyc_access.admit(caller.client_id)
    except KycTokenError as error:
        return "unauthorized", _bearer_problem(401, error.error, error.description, error)
    except KycScopeError as error:
        return "unauthorized", _bearer_problem(403, "insufficient_scope", error.description)
    except KycLimitError as error:
        return error.reason, _too_many(error.reason, error.retry_after)
    query = _parse(request, body)
    if isinstance(query, Response):
        return "invalid", query
    return _AdmittedQuery(caller.client_id, query)


def _parse(request: Request, body: bytes | None) -> KycQuery | Response:
    if body is None:
        return problem_response(
            413, "too-large", "Request too large", f"the body exceeds {MAX_BODY_BYTES} bytes"
        )
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _JSON_MEDIA_TYPES:
        return problem_response(
            415, "unsupported-media-type", "Unsupported media type", "send application/json"
        )
    try:
        parsed = KycVerifyRequest.model_validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        if any(problem["type"] == "json_invalid" for problem in problems):
            return problem_response(
                400, "malformed-json", "Malformed JSON", "the body is not a JSON object"
            )
        return problem_response(
            422,
            "invalid-request",
            "Invalid request",
            "some fields are missing or invalid",
            errors=[
                {
                    "field": ".".join(str(part) for part in problem["loc"]) or "(body)",
                    "message": problem["msg"],
                }
                for problem in problems
            ],
        )
    return KycQuery(
        personal_id_number=parsed.personal_id_number,
        full_name=parsed.full_name,
        birth_date=parsed.birth_date,
        gender=parsed.gender,
        otp=parsed.otp,
    )


def _bearer_problem(
    status: int, error: str, description: str, token_error: KycTokenError | None = None
) -> Response:
    """401/403 with the RFC 6750 challenge (no error code when no token was sent at all),
    or the DPoP one (RFC 9449 §7.1) for a DPoP-bound token or the DPoP scheme."""
    scheme = "DPoP" if token_error is not None and token_error.dpop else "Bearer"
    challenge = f'{scheme} realm="{REALM}"'
    if scheme == "DPoP":
        challenge += f', algs="{" ".join(DPOP_ALGORITHMS)}"'
    if token_error is None or not token_error.missing:
        challenge += f', error="{error}", error_description="{description}"'
    if error == "insufficient_scope":
        challenge += f', scope="{KYC_VERIFY_SCOPE}"'
    title = "Unauthorized" if status == 401 else "Forbidden"
    return problem_response(
        status, error.replace("_", "-"), title, description, headers={"WWW-Authenticate": challenge}
    )


_LIMIT_DETAILS = {
    "rate_limited": "too many verifications this second for this relying party",
    "quota_exceeded": "the daily verification quota of this relying party is used up",
    "otp_locked": "too many wrong one-time codes for this citizen; wait before trying again",
}


def _too_many(reason: str, retry_after: int) -> Response:
    return problem_response(
        429,
        reason.replace("_", "-"),
        "Too many requests",
        _LIMIT_DETAILS[reason],
        headers={"Retry-After": str(retry_after)},
    )
