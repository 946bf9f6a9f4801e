"""A portal back-end's client of natid's e-KYC verification API, over HTTP only.

The back-end is a client of its own at the IdP (``demo-bank-backend``,
``demo-clinic-backend``): it obtains an access token with the client credentials grant
(RFC 6749 §4.4) for the ``kyc.verify`` scope, authenticating with a client secret or a
signed JWT (``private_key_jwt``, RFC 7523) through Authlib's OAuth 2 client, and keeps
the token until shortly before it expires. With ``dpop`` the token is bound to a DPoP
key of the back-end (RFC 9449; ``portals.common.dpop`` adds the proofs, a fresh one on
every call) and is sent with the ``DPoP`` scheme. It then POSTs what the portal holds about
the citizen to ``{issuer}/api/v1/kyc/verify`` and checks the signed answer
(``kyc_results``) against the IdP's JWKS, shared with the portal's e-ID client.

::

    KycError                  every failure; ``code`` for pages and logs
    ├── KycUnavailableError   the IdP cannot be reached, is overloaded or rate-limits us
    │                         (``retry_after`` when it said how long to wait)
    ├── KycRefusedError       the IdP refused the client or the request (credentials,
    │                         scope, invalid fields): a configuration or input problem
    └── KycAnswerError        an answer came back but cannot be trusted (``kyc_results``)
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import authlib.deprecate  # noqa: F401 - installs Authlib's own warning filter first (below)
import httpx
from authlib.common.errors import AuthlibBaseError

from portals.common.client_assertions import assertion_method, import_private_jwk
from portals.common.dpop import DpopKey, DpopTransport
from portals.common.errors import EidLoginError
from portals.common.kyc_results import KycAnswerError, KycError, KycResult, verify_kyc_result
from portals.common.oidc_client import EidClient

with warnings.catch_warnings():
    # As in oidc_client: Authlib's notice that its httpx integration moves to httpx2.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = ["KycAnswerError", "KycError", "KycResult"]

KYC_VERIFY_PATH = "/api/v1/kyc/verify"
KYC_SCOPE = "kyc.verify"
HTTP_TIMEOUT_SECONDS = 10.0
# A token is renewed this long before it expires, so a call never carries a dying token.
TOKEN_RENEW_MARGIN_SECONDS = 30
_UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})


class KycUnavailableError(KycError):
    code = "kyc_unavailable"

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class KycRefusedError(KycError):
    code = "kyc_refused"


@dataclass(frozen=True, slots=True)
class BackendCredentials:
    """How the back-end authenticates at the token endpoint: a ``secret`` for the
    ``client_secret_*`` methods, a private JWK (with ``kid`` and ``alg``) for
    ``private_key_jwt``."""

    client_id: str
    method: Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
    secret: str | None = None
    private_jwk: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class KycApplicant:
    """What the portal holds about the citizen; ``birth_date`` is ISO ``YYYY-MM-DD``."""

    personal_id_number: str
    full_name: str
    birth_date: str
    gender: str
    otp: str | None = None

    def request_body(self) -> dict[str, str]:
        body = {
            "personal_id_number": self.personal_id_number,
            "full_name": self.full_name,
            "birth_date": self.birth_date,
            "gender": self.gender,
        }
        if self.otp:
            body["otp"] = self.otp
        return body


class KycClient:
    def __init__(
        self,
        eid: EidClient,
        credentials: BackendCredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        dpop: bool = False,
        clock_skew_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (credentials.method == "private_key_jwt") != (credentials.private_jwk is not None):
            raise ValueError("private_key_jwt needs a private JWK, and only it uses one")
        self._eid = eid
        self._credentials = credentials
        self._dpop = DpopTransport(DpopKey(clock=clock), transport) if dpop else None
        self._transport = self._dpop or transport
        self._token_type = "Bearer"
        self._skew = clock_skew_seconds
        self._clock = clock
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()

    @property
    def client_id(self) -> str:
        return self._credentials.client_id

    async def verify(self, applicant: KycApplicant) -> KycResult:
        """The register's checked answer about ``applicant``; raises ``KycError``."""
        for attempt in range(2):
            token = await self._access_token(renew=attempt > 0)
            response = await self._post(applicant, token)
            # A token revoked or expired early: fetch a new one, once.
            if response.status_code == 401 and attempt == 0:
                continue
            return await self._answer(response, sent=applicant.request_body())
        raise KycRefusedError("the verification API refused a freshly issued token")

    async def _access_token(self, *, renew: bool) -> str:
        async with self._token_lock:
            if renew or self._token is None or self._clock() >= self._token_renew_at:
                self._token = None
                token = await self._fetch_token()
                access_token = token.get("access_token")
                if not isinstance(access_token, str) or not access_token:
                    raise KycRefusedError("the token endpoint sent no access token")
                lifetime = _seconds(token.get("expires_in"))
                self._token = access_token
                self._token_type = "DPoP" if token.get("token_type") == "DPoP" else "Bearer"
                self._token_renew_at = self._clock() + max(lifetime - TOKEN_RENEW_MARGIN_SECONDS, 0)
            return self._token

    async def _fetch_token(self) -> dict[str, Any]:
        metadata = await self._metadata()
        endpoint = metadata.get("token_endpoint")
        if not isinstance(endpoint, str):
            raise KycUnavailableError("discovery names no token endpoint")
        if self._dpop is not None:
            self._dpop.add_endpoints(endpoint)
        credentials = self._credentials
        secret: Any = credentials.secret
        if credentials.private_jwk is not None:
            secret = import_private_jwk(credentials.private_jwk)
        async with AsyncOAuth2Client(
            client_id=credentials.client_id,
            client_secret=secret,
            token_endpoint_auth_method=credentials.method,
            scope=KYC_SCOPE,
            timeout=HTTP_TIMEOUT_SECONDS,
            transport=self._transport,
        ) as oauth:
            if credentials.private_jwk is not None:
                oauth.register_client_auth_method(
                    assertion_method(credentials.private_jwk, self._clock)
                )
            try:
                return dict(await oauth.fetch_token(endpoint, grant_type="client_credentials"))
            except AuthlibBaseError as error:
                raise KycRefusedError(f"token endpoint: {error.error}") from None
            except (httpx.HTTPError, ValueError) as error:
                raise KycUnavailableError(f"token endpoint: {type(error).__name__}") from None

    async def _post(self, applicant: KycApplicant, token: str) -> httpx.Response:
        url = f"{self._eid.issuer}{KYC_VERIFY_PATH}"
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=HTTP_TIMEOUT_SECONDS
            ) as http:
                return await http.post(
                    url,
                    json=applicant.request_body(),
                    headers={
                        "Authorization": f"{self._token_type} {token}",
                        "Accept": "application/json",
                    },
                )
        except httpx.HTTPError as error:
            raise KycUnavailableError(f"verify API: {type(error).__name__}") from None

    async def _answer(self, response: httpx.Response, *, sent: dict[str, str]) -> KycResult:
        if response.status_code in _UNAVAILABLE_STATUSES or response.status_code >= 500:
            retry_after = response.headers.get("retry-after", "")
            raise KycUnavailableError(
                f"verify API answered HTTP {response.status_code}",
                int(retry_after) if retry_after.isdigit() else None,
            )
        if response.status_code != 200:
            raise KycRefusedError(f"verify API: {_problem_summary(response)}")
        try:
            body = response.json()
        except ValueError:
            raise KycAnswerError("the answer is not JSON") from None
        if not isinstance(body, dict) or not all(
            isinstance(body.get(name), str) for name in ("result_jws", "transaction_id")
        ):
            raise KycAnswerError("the answer lacks result_jws or transaction_id")
        try:
            return await verify_kyc_result(
                body["result_jws"],
                self._eid.keys,
                issuer=self._eid.issuer,
                client_id=self._credentials.client_id,
                transaction_id=body["transaction_id"],
                sent=sent,
                clock_skew_seconds=self._skew,
                clock=self._clock,
            )
        except EidLoginError as error:  # the JWKS could not be fetched
            raise KycUnavailableError(f"keys: {error.detail}") from None

    async def _metadata(self) -> dict[str, Any]:
        try:
            return await self._eid.metadata()
        except EidLoginError as error:
            raise KycUnavailableError(f"discovery: {error.detail or error.code}") from None


def _seconds(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _problem_summary(response: httpx.Response) -> str:
    """``HTTP 422 invalid-request: …`` from a problem-details answer (RFC 9457)."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    # natid's problem types are URNs (urn:natid:problem:<slug>); others may be URLs.
    kind = str(problem.get("type", "")).replace("/", ":").rsplit(":", 1)[-1]
    detail = str(problem.get("detail", ""))[:200]
    return f"HTTP {response.status_code} {kind}: {detail}".strip()
