"""The token debugger: what a pasted token is, and why natid or a portal would reject it.

For integrators chasing a rejected token. ``TokenDebugger.inspect`` decodes a compact JWS
(ID token, RFC 9068 access token, back-channel logout token, e-KYC answer, or a portal's
``private_key_jwt`` client assertion) and reports findings, each a verdict (ok, problem,
warning, info), a message code and its values; the page translates them. The checks
(``token_checks``): the signature against natid's published JWKS (or, for a client
assertion, the client's registered JWKS), expiry, issuer, audience, level (``acr``) and
dangerous headers.

Pure and stateless: no FastAPI, no storage, and the token is never logged. Revocation is
not checked (that is what introspection is for), and neither is anything that needs the
portal's own secrets (``nonce``, ``at_hash``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from identity_service.token_checks import kind_of, run_checks
from identity_service.token_findings import (
    JWT_KINDS,
    DebuggerContext,
    DecodedToken,
    Finding,
    KnownClient,
    TokenKind,
    Verdict,
)

__all__ = ["Finding", "TokenDebugger", "TokenKind", "TokenReport", "Verdict"]

MAX_TOKEN_LENGTH = 16_384
_OPAQUE = re.compile(r"[A-Za-z0-9_\-]{20,}")
_BEARER = re.compile(r"^bearer\s+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TokenReport:
    kind: TokenKind
    header: dict[str, Any] | None
    claims: dict[str, Any] | None
    findings: tuple[Finding, ...]

    @property
    def accepted(self) -> bool:
        """A signed token of a kind natid issues, with no problem found."""
        return self.kind in JWT_KINDS and not any(
            finding.verdict is Verdict.PROBLEM for finding in self.findings
        )

    @property
    def header_json(self) -> str:
        return _pretty(self.header)

    @property
    def claims_json(self) -> str:
        return _pretty(self.claims)

    def topic(self, topic: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.topic == topic]


class TokenDebugger:
    """Inspects pasted tokens against one provider's keys and registrations."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks: Callable[[], Mapping[str, Any]],
        find_client: Callable[[str], KnownClient | None],
        assertion_audiences: tuple[str, ...] = (),
        dpop_endpoints: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dpop_endpoints = dpop_endpoints
        self._issuer = issuer
        self._jwks = jwks
        self._find_client = find_client
        self._assertion_audiences = assertion_audiences or (issuer,)
        self._clock = clock

    def inspect(self, pasted: str, *, expected_audience: str | None = None) -> TokenReport:
        """Every finding about ``pasted`` (never raises for bad input)."""
        findings: list[Finding] = []
        token = _normalise(pasted, findings)
        if token is None:
            return TokenReport(TokenKind.UNREADABLE, None, None, tuple(findings))
        parts = token.split(".")
        if len(parts) == 5:
            findings.append(Finding("format", Verdict.PROBLEM, "format.encrypted", {}))
            return TokenReport(TokenKind.ENCRYPTED, None, None, tuple(findings))
        if len(parts) != 3:
            if _OPAQUE.fullmatch(token):
                findings.append(Finding("format", Verdict.INFO, "format.opaque", {}))
                return TokenReport(TokenKind.OPAQUE, None, None, tuple(findings))
            findings.append(Finding("format", Verdict.PROBLEM, "format.not_jwt", {}))
            return TokenReport(TokenKind.UNREADABLE, None, None, tuple(findings))
        header = _json_object(parts[0])
        if header is None:
            findings.append(Finding("format", Verdict.PROBLEM, "format.bad_header", {}))
            return TokenReport(TokenKind.UNREADABLE, None, None, tuple(findings))
        claims = _json_object(parts[1])
        if claims is None:
            findings.append(Finding("format", Verdict.PROBLEM, "format.bad_claims", {}))
            return TokenReport(TokenKind.UNREADABLE, header, None, tuple(findings))
        if _b64url_decode(parts[2]) is None:
            findings.append(Finding("format", Verdict.PROBLEM, "format.bad_signature", {}))
        context = DebuggerContext(
            issuer=self._issuer,
            jwks=self._jwks(),
            find_client=self._find_client,
            assertion_audiences=self._assertion_audiences,
            now=self._clock(),
            expected_audience=(expected_audience or "").strip() or None,
            dpop_endpoints=self._dpop_endpoints,
        )
        decoded = DecodedToken(header, claims, token)
        kind = kind_of(decoded, context)
        findings.extend(run_checks(decoded, kind, context))
        return TokenReport(kind, header, claims, tuple(findings))


def _normalise(pasted: str, findings: list[Finding]) -> str | None:
    """The token without a ``Bearer`` prefix or whitespace (line breaks from copying)."""
    if len(pasted) > MAX_TOKEN_LENGTH:
        findings.append(
            Finding("format", Verdict.PROBLEM, "format.too_long", {"max": MAX_TOKEN_LENGTH})
        )
        return None
    token = pasted.strip()
    if _BEARER.match(token):
        token = _BEARER.sub("", token)
        findings.append(Finding("format", Verdict.INFO, "format.bearer_prefix", {}))
    token = "".join(token.split())
    if not token:
        findings.append(Finding("format", Verdict.PROBLEM, "format.empty", {}))
        return None
    return token


def _b64url_decode(segment: str) -> bytes | None:
    if not re.fullmatch(r"[A-Za-z0-9_\-]*", segment):
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_object(segment: str) -> dict[str, Any] | None:
    raw = _b64url_decode(segment)
    if not raw:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _pretty(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False)
