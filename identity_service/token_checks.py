"""The token debugger's checks: kind, signature, expiry, issuer, audience, level, headers.

Each check reads a decoded (untrusted) token and returns ``Finding`` objects; the page
turns their codes into sentences. The rules are the ones natid's own verifiers and a
careful portal apply: a valid signature (``token_signature``), an unexpired token, natid's
exact issuer, an audience that is a registered portal (or natid itself for access
tokens), a known ``acr``, and no header that asks a verifier to fetch or trust other keys.
``token_debugger`` owns decoding and the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from identity_service.kyc import RESULT_TYPE as KYC_RESULT_TYPE
from identity_service.oidc.backchannel import BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TYPE
from identity_service.oidc.dpop import PROOF_TYPE as DPOP_PROOF_TYPE
from identity_service.oidc.levels import ACR_LEVEL1, ACR_LEVEL2
from identity_service.token_dpop_checks import dpop_findings
from identity_service.token_findings import (
    DebuggerContext,
    DecodedToken,
    Finding,
    TokenKind,
    Verdict,
    audiences,
    first_audience,
    problem,
)
from identity_service.token_signature import signature_findings
from identity_service.tokens import ACCESS_TOKEN_TYPE

# Clocks of portals and provider disagree a little; a minute is what verifiers allow.
CLOCK_SKEW_SECONDS = 60
# Far beyond any real time (year 33658), and exactly representable as a float.
MAX_NUMERIC_DATE = 10**12
_LEVEL_BY_ACR = {ACR_LEVEL1: 1, ACR_LEVEL2: 2}
_KEY_URL_HEADERS = ("jku", "x5u")
_EMBEDDED_KEY_HEADERS = ("jwk", "x5c")
_ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash", "auth_time", "azp")


def kind_of(token: DecodedToken, context: DebuggerContext) -> TokenKind:
    """What the token is, from its ``typ`` header and then its claims."""
    typ = str(token.header.get("typ", "")).lower().removeprefix("application/")
    claims = token.claims
    events = claims.get("events")
    if typ == ACCESS_TOKEN_TYPE:
        return TokenKind.ACCESS_TOKEN
    if typ == DPOP_PROOF_TYPE:
        return TokenKind.DPOP_PROOF
    if typ == LOGOUT_TOKEN_TYPE or (
        isinstance(events, dict) and BACKCHANNEL_LOGOUT_EVENT in events
    ):
        return TokenKind.LOGOUT_TOKEN
    if typ == KYC_RESULT_TYPE:
        return TokenKind.KYC_ANSWER
    issuer, subject = claims.get("iss"), claims.get("sub")
    if isinstance(issuer, str) and issuer == subject and issuer != context.issuer:
        return TokenKind.CLIENT_ASSERTION  # RFC 7523 §3: iss and sub are the client id
    if any(claim in claims for claim in _ID_TOKEN_CLAIMS):
        return TokenKind.ID_TOKEN
    if "scope" in claims and "client_id" in claims:
        return TokenKind.ACCESS_TOKEN
    return TokenKind.OTHER_JWT


def run_checks(token: DecodedToken, kind: TokenKind, context: DebuggerContext) -> list[Finding]:
    findings = [Finding("type", Verdict.INFO, f"type.{kind}", {"typ": _text(token.header, "typ")})]
    checks = (_header, signature_findings, _expiry, _issuer, _audience, _level, _logout)
    for check in (*checks, dpop_findings):
        findings.extend(check(token, kind, context))
    if kind in (TokenKind.ACCESS_TOKEN, TokenKind.ID_TOKEN):
        findings.append(Finding("revocation", Verdict.INFO, "revocation.not_checked", {}))
    return findings


def _header(token: DecodedToken, kind: TokenKind, _context: DebuggerContext) -> Iterator[Finding]:
    header = token.header
    alg = str(header.get("alg", ""))
    if alg.lower() == "none":
        yield Finding("header", Verdict.WARNING, "header.alg_none", {})
    if alg.upper().startswith("HS"):
        yield Finding("header", Verdict.WARNING, "header.symmetric", {"alg": alg})
    for name in _KEY_URL_HEADERS:
        if name in header:
            yield Finding("header", Verdict.WARNING, "header.key_url", {"name": name})
    for name in _EMBEDDED_KEY_HEADERS:
        if name in header and not (kind is TokenKind.DPOP_PROOF and name == "jwk"):
            yield Finding("header", Verdict.WARNING, "header.embedded_key", {"name": name})
    if "crit" in header:
        yield Finding("header", Verdict.WARNING, "header.crit", {})
    typ = str(header.get("typ", "")).lower().removeprefix("application/")
    if kind is TokenKind.ACCESS_TOKEN and typ != ACCESS_TOKEN_TYPE:
        yield Finding("header", Verdict.WARNING, "header.access_without_typ", {})


def _expiry(token: DecodedToken, kind: TokenKind, context: DebuggerContext) -> Iterator[Finding]:
    claims, now = token.claims, context.now
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if exp is None:
        if kind is TokenKind.KYC_ANSWER:
            yield Finding("expiry", Verdict.INFO, "expiry.none_kyc", {})
        elif kind is TokenKind.DPOP_PROOF:
            yield Finding("expiry", Verdict.INFO, "expiry.none_dpop", {})
        else:
            yield problem("expiry", "expiry.missing", {})
    elif not _is_number(exp):
        yield problem("expiry", "expiry.not_number", {"claim": "exp"})
    elif exp <= now:
        yield problem("expiry", "expiry.expired", {"seconds": int(now - exp), "at": _utc(exp)})
    else:
        values = {"seconds": int(exp - now), "at": _utc(exp)}
        yield Finding("expiry", Verdict.OK, "expiry.valid_for", values)
    if iat is not None and not _is_number(iat):
        yield problem("expiry", "expiry.not_number", {"claim": "iat"})
    elif _is_number(iat):
        if iat > now + CLOCK_SKEW_SECONDS:
            yield problem("expiry", "expiry.issued_in_future", {"seconds": int(iat - now)})
        else:
            values = {"seconds": int(max(now - iat, 0)), "at": _utc(iat)}
            yield Finding("expiry", Verdict.INFO, "expiry.issued", values)
    if _is_number(nbf) and nbf > now + CLOCK_SKEW_SECONDS:
        yield problem("expiry", "expiry.not_yet_valid", {"seconds": int(nbf - now)})


def _issuer(token: DecodedToken, kind: TokenKind, context: DebuggerContext) -> Iterator[Finding]:
    if kind is TokenKind.DPOP_PROOF:
        return  # a proof names no issuer: its key speaks for the client
    issuer = token.claims.get("iss")
    if kind is TokenKind.CLIENT_ASSERTION:
        client = context.client(issuer)
        if client is None:
            yield problem("issuer", "issuer.unknown_client", {"iss": str(issuer)})
        else:
            values = {"client_id": client.client_id, "name": client.name}
            yield Finding("issuer", Verdict.OK, "issuer.client", values)
        return
    if not isinstance(issuer, str) or not issuer:
        yield problem("issuer", "issuer.missing", {})
    elif issuer == context.issuer:
        yield Finding("issuer", Verdict.OK, "issuer.natid", {"iss": issuer})
    else:
        close = issuer.rstrip("/") == context.issuer.rstrip("/")
        code = "issuer.trailing_slash" if close else "issuer.other"
        yield problem("issuer", code, {"iss": issuer, "expected": context.issuer})


def _audience(token: DecodedToken, kind: TokenKind, context: DebuggerContext) -> Iterator[Finding]:
    if kind is TokenKind.DPOP_PROOF:
        return  # htu is the proof's audience (dpop_findings)
    claims = token.claims
    named = audiences(claims.get("aud"))
    if not named:
        yield problem("audience", "audience.missing", {})
        return
    if kind is TokenKind.CLIENT_ASSERTION:
        if set(named) & set(context.assertion_audiences):
            yield Finding("audience", Verdict.OK, "audience.endpoint", {"aud": named[0]})
        else:
            values = {"aud": ", ".join(named), "expected": context.assertion_audiences[0]}
            yield problem("audience", "audience.wrong_endpoint", values)
        return
    if kind is TokenKind.ACCESS_TOKEN:
        if context.issuer in named:
            yield Finding("audience", Verdict.OK, "audience.resource", {"aud": context.issuer})
        else:
            values = {"aud": ", ".join(named), "expected": context.issuer}
            yield problem("audience", "audience.not_resource", values)
        yield from _client_finding(context, claims.get("client_id"), "audience.access_client")
    else:
        for audience in named:
            yield from _client_finding(context, audience, "audience.client")
        if len(named) > 1 and claims.get("azp") not in named:
            yield problem("audience", "audience.azp", {})
    expected = context.expected_audience
    if expected is not None:
        candidates = [*named, str(claims.get("client_id", ""))]
        if expected in candidates:
            yield Finding("audience", Verdict.OK, "audience.expected", {"expected": expected})
        else:
            values = {"expected": expected, "aud": ", ".join(named)}
            yield problem("audience", "audience.not_expected", values)


def _client_finding(context: DebuggerContext, client_id: Any, code: str) -> Iterator[Finding]:
    client = context.client(client_id)
    if client is None:
        yield problem("audience", "audience.unknown_client", {"client_id": str(client_id)})
    else:
        values = {"client_id": client.client_id, "name": client.name}
        yield Finding("audience", Verdict.OK, code, values)


def _level(token: DecodedToken, kind: TokenKind, context: DebuggerContext) -> Iterator[Finding]:
    claims = token.claims
    if kind is TokenKind.KYC_ANSWER:
        values = {"level": str(claims.get("level")), "result": str(claims.get("result"))}
        yield Finding("level", Verdict.INFO, "level.kyc", values)
        return
    if kind not in (TokenKind.ID_TOKEN, TokenKind.ACCESS_TOKEN):
        return
    acr = claims.get("acr")
    if acr is None:
        if kind is TokenKind.ACCESS_TOKEN and claims.get("sub") == claims.get("client_id"):
            yield Finding("level", Verdict.INFO, "level.machine", {})
        else:
            yield Finding("level", Verdict.WARNING, "level.missing", {})
        return
    level = _LEVEL_BY_ACR.get(acr) if isinstance(acr, str) else None
    if level is None:
        yield Finding("level", Verdict.WARNING, "level.unknown_acr", {"acr": str(acr)})
        return
    amr = claims.get("amr")
    methods = ", ".join(str(method) for method in amr) if isinstance(amr, list) else "—"
    yield Finding("level", Verdict.OK, "level.acr", {"acr": acr, "level": level, "amr": methods})
    portal = claims.get("client_id") if kind is TokenKind.ACCESS_TOKEN else first_audience(claims)
    client = context.client(portal)
    if client is not None and level < client.min_level:
        values = {"level": level, "min_level": client.min_level, "name": client.name}
        yield problem("level", "level.below_minimum", values)


def _logout(token: DecodedToken, kind: TokenKind, _context: DebuggerContext) -> Iterator[Finding]:
    if kind is not TokenKind.LOGOUT_TOKEN:
        return
    claims = token.claims
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events:
        yield problem("logout", "logout.no_event", {})
    if "nonce" in claims:
        yield problem("logout", "logout.nonce", {})
    if "sub" not in claims and "sid" not in claims:
        yield problem("logout", "logout.no_subject", {})


def _text(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    return "—" if value is None else str(value)


def _is_number(value: Any) -> bool:
    """A time in a sane range. JSON parsers accept NaN, Infinity and integers too large for
    a float (math.isfinite would raise on those); the comparisons are exact for all three."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return -MAX_NUMERIC_DATE < value < MAX_NUMERIC_DATE


def _utc(timestamp: float) -> str:
    try:
        moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
