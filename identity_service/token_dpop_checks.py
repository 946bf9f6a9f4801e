"""The token debugger's checks of DPoP (RFC 9449): a pasted proof, and a key-bound token.

A proof is checked as the provider checks it (``oidc.dpop``) as far as a proof alone
allows: ``htm``, ``htu`` (one of natid's endpoints that take DPoP), ``jti``, the age of
``iat``, whether it carries ``ath`` (for a resource endpoint) and a server ``nonce``, and
the thumbprint of its key — the ``jkt`` a token bound by it carries. Replay and the
nonce's freshness are not checked: the page never stores anything. An access token bound
to a key shows its ``cnf.jkt``.
"""

from __future__ import annotations

from collections.abc import Iterator

from identity_service.jwk import JwkError, jwk_thumbprint
from identity_service.oidc.dpop import (
    CLOCK_SKEW_SECONDS,
    PROOF_MAX_AGE_SECONDS,
    bound_key,
    normalized_url,
)
from identity_service.token_findings import (
    DebuggerContext,
    DecodedToken,
    Finding,
    TokenKind,
    Verdict,
    problem,
)

MAX_TIME = 10**12  # beyond any real time, and exact as a float
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def dpop_findings(
    token: DecodedToken, kind: TokenKind, context: DebuggerContext
) -> Iterator[Finding]:
    if kind is TokenKind.ACCESS_TOKEN:
        jkt = bound_key(token.claims)
        if jkt is not None:
            yield Finding("dpop", Verdict.INFO, "dpop.bound", {"jkt": jkt})
        return
    if kind is not TokenKind.DPOP_PROOF:
        return
    yield from _key(token)
    claims = token.claims
    htm = claims.get("htm")
    if isinstance(htm, str) and htm in HTTP_METHODS:
        yield Finding("dpop", Verdict.OK, "dpop.htm", {"htm": htm})
    else:
        yield problem("dpop", "dpop.no_htm", {})
    yield from _target(claims.get("htu"), context)
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        yield problem("dpop", "dpop.no_jti", {})
    yield from _age(claims.get("iat"), context.now)
    if "ath" in claims:
        yield Finding("dpop", Verdict.INFO, "dpop.ath", {})
    else:
        yield Finding("dpop", Verdict.INFO, "dpop.no_ath", {})
    if "nonce" in claims:
        yield Finding("dpop", Verdict.INFO, "dpop.nonce", {})
    else:
        yield Finding("dpop", Verdict.WARNING, "dpop.no_nonce", {})


def _key(token: DecodedToken) -> Iterator[Finding]:
    jwk = token.header.get("jwk")
    if not isinstance(jwk, dict):
        return  # the signature check reports it
    try:
        yield Finding("dpop", Verdict.INFO, "dpop.jkt", {"jkt": jwk_thumbprint(jwk)})
    except (JwkError, TypeError):
        yield problem("dpop", "dpop.bad_jwk", {})


def _target(htu: object, context: DebuggerContext) -> Iterator[Finding]:
    if not isinstance(htu, str):
        yield problem("dpop", "dpop.no_htu", {})
        return
    endpoints = {normalized_url(url) for url in context.dpop_endpoints}
    if normalized_url(htu) in endpoints:
        yield Finding("dpop", Verdict.OK, "dpop.htu", {"htu": htu})
    else:
        yield problem("dpop", "dpop.htu_other", {"htu": htu})


def _age(iat: object, now: float) -> Iterator[Finding]:
    if not isinstance(iat, int | float) or isinstance(iat, bool) or not -MAX_TIME < iat < MAX_TIME:
        yield problem("dpop", "dpop.no_iat", {})  # NaN fails the range too
        return
    age = now - iat
    if age > PROOF_MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS:
        yield problem("dpop", "dpop.stale", {"seconds": int(age), "limit": PROOF_MAX_AGE_SECONDS})
    elif age >= -CLOCK_SKEW_SECONDS:
        yield Finding("dpop", Verdict.OK, "dpop.fresh", {"seconds": int(max(age, 0))})
