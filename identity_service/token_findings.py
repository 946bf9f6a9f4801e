"""What the token debugger reports: token kinds, findings, and what checks compare with.

Shared by the checks (``token_checks``, ``token_signature``) and the debugger itself
(``token_debugger``), so that none of them imports another's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Verdict(StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    WARNING = "warning"
    INFO = "info"


class TokenKind(StrEnum):
    ID_TOKEN = "id_token"
    ACCESS_TOKEN = "access_token"
    LOGOUT_TOKEN = "logout_token"
    KYC_ANSWER = "kyc_answer"
    CLIENT_ASSERTION = "client_assertion"
    DPOP_PROOF = "dpop_proof"
    OTHER_JWT = "other_jwt"
    ENCRYPTED = "encrypted"
    OPAQUE = "opaque"
    UNREADABLE = "unreadable"


JWT_KINDS = frozenset(
    {
        TokenKind.ID_TOKEN,
        TokenKind.ACCESS_TOKEN,
        TokenKind.LOGOUT_TOKEN,
        TokenKind.KYC_ANSWER,
        TokenKind.CLIENT_ASSERTION,
        TokenKind.DPOP_PROOF,
        TokenKind.OTHER_JWT,
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report: ``code`` names the message, ``values`` fill it in."""

    topic: str
    verdict: Verdict
    code: str
    values: Mapping[str, Any]


class KnownClient(Protocol):
    """What the debugger needs to know about a registered portal."""

    @property
    def client_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def jwks(self) -> dict[str, Any] | None: ...
    @property
    def id_token_signed_response_alg(self) -> str: ...
    @property
    def min_level(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """The parts of a compact JWS, decoded but not trusted."""

    header: dict[str, Any]
    claims: dict[str, Any]
    compact: str


@dataclass(frozen=True, slots=True)
class DebuggerContext:
    """What the checks compare a token with."""

    issuer: str
    jwks: Mapping[str, Any]
    find_client: Callable[[str], KnownClient | None]
    # Where a client assertion may be addressed (token, introspection, revocation, issuer).
    assertion_audiences: tuple[str, ...]
    now: float
    expected_audience: str | None = None
    # The endpoints that take DPoP proofs (a proof's htu must be one of them).
    dpop_endpoints: tuple[str, ...] = ()

    def client(self, client_id: Any) -> KnownClient | None:
        return self.find_client(client_id) if isinstance(client_id, str) and client_id else None


def problem(topic: str, code: str, values: Mapping[str, Any]) -> Finding:
    return Finding(topic, Verdict.PROBLEM, code, values)


def audiences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def first_audience(claims: Mapping[str, Any]) -> str | None:
    named = audiences(claims.get("aud"))
    return named[0] if named else None
