"""The token debugger's signature check: which key, which algorithm, valid or why not.

A token natid issued is verified against natid's published JWKS; a portal's client
assertion against the JWKS the portal registered; a DPoP proof against the public key in
its own ``jwk`` header (that is what a proof is). The algorithm must be one natid uses
for that kind of token: never ``none``, never a shared-secret ``HS*`` (the mark of a
key-confusion attack), and the key named by ``kid`` must be for that algorithm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from identity_service.oidc.metadata import (
    CLIENT_ASSERTION_ALGORITHMS,
    DPOP_ALGORITHMS,
    ID_TOKEN_SIGNING_ALGORITHMS,
)
from identity_service.token_findings import (
    DebuggerContext,
    DecodedToken,
    Finding,
    TokenKind,
    Verdict,
    first_audience,
    problem,
)
from identity_service.tokens import ACCESS_TOKEN_ALGORITHM

_IMPLIED_ALGORITHM = {("EC", "P-256"): "ES256", ("OKP", "Ed25519"): "EdDSA"}
_ALGORITHMS_BY_KIND: dict[TokenKind, tuple[str, ...]] = {
    TokenKind.ACCESS_TOKEN: (ACCESS_TOKEN_ALGORITHM,),
    TokenKind.KYC_ANSWER: (ACCESS_TOKEN_ALGORITHM,),
    TokenKind.CLIENT_ASSERTION: CLIENT_ASSERTION_ALGORITHMS,
    TokenKind.DPOP_PROOF: DPOP_ALGORITHMS,
}
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def signature_findings(
    token: DecodedToken, kind: TokenKind, context: DebuggerContext
) -> list[Finding]:
    alg = token.header.get("alg")
    allowed = _ALGORITHMS_BY_KIND.get(kind, ID_TOKEN_SIGNING_ALGORITHMS)
    if not isinstance(alg, str) or not alg:
        return [problem("signature", "signature.no_alg", {})]
    if alg.lower() == "none":
        return [problem("signature", "signature.alg_none", {})]
    if alg.upper().startswith("HS"):
        return [problem("signature", "signature.symmetric", {"alg": alg})]
    if alg not in allowed:
        return [problem("signature", "signature.unexpected_alg", _algs(alg, allowed))]
    findings: list[Finding] = []
    if kind is TokenKind.DPOP_PROOF:
        jwk = token.header.get("jwk")
        if not isinstance(jwk, dict):
            return [problem("signature", "signature.proof_without_jwk", {})]
        if _PRIVATE_JWK_MEMBERS & jwk.keys():
            return [problem("signature", "signature.private_jwk", {})]
        keys, source = [jwk], "proof"
    elif kind is TokenKind.CLIENT_ASSERTION:
        client = context.client(token.claims.get("iss"))
        if client is None or not client.jwks:
            return [problem("signature", "signature.client_without_jwks", {})]
        keys, source = client.jwks.get("keys", []), "client"
    else:
        keys, source = context.jwks.get("keys", []), "natid"
        client = context.client(first_audience(token.claims))
        registered = client.id_token_signed_response_alg if client is not None else None
        if kind is TokenKind.ID_TOKEN and registered not in (None, alg):
            values = {"alg": alg, "registered": registered}
            code = "signature.not_registered"
            findings.append(Finding("signature", Verdict.WARNING, code, values))
    findings.append(_verify(token, alg, [key for key in keys if isinstance(key, dict)], source))
    return findings


def _verify(token: DecodedToken, alg: str, keys: list[dict[str, Any]], source: str) -> Finding:
    kid = token.header.get("kid")
    if isinstance(kid, str):
        candidates = [key for key in keys if key.get("kid") == kid]
        if not candidates:
            candidates = [key for key in keys if "kid" not in key]  # a client's kid-less keys
        if not candidates:
            return problem("signature", "signature.unknown_kid", {"kid": kid, "source": source})
    else:
        candidates = [key for key in keys if _compatible(key, alg)]
        if not candidates:
            return problem("signature", "signature.no_key", {"alg": alg, "source": source})
    outcome = problem("signature", "signature.alg_mismatch", {"alg": alg, "kid": str(kid)})
    for key in candidates:
        if not _compatible(key, alg):
            key_alg = key.get("alg") or key.get("kty")
            values = {"alg": alg, "kid": str(kid), "key_alg": str(key_alg)}
            outcome = problem("signature", "signature.alg_mismatch", values)
            continue
        values = {"alg": alg, "kid": str(key.get("kid", "—")), "source": source}
        try:
            verifying_key = jwt.PyJWK(key, algorithm=alg).key
            jwt.PyJWS().decode_complete(token.compact, key=verifying_key, algorithms=[alg])
        except jwt.InvalidSignatureError:
            outcome = problem("signature", "signature.invalid", values)
            continue
        except (jwt.PyJWKError, jwt.InvalidTokenError) as error:
            outcome = problem("signature", "signature.rejected", {**values, "reason": str(error)})
            continue
        return Finding("signature", Verdict.OK, "signature.valid", values)
    return outcome


def _compatible(key: Mapping[str, Any], alg: str) -> bool:
    declared = key.get("alg")
    if declared is not None:
        return declared == alg
    if key.get("kty") == "RSA":
        return alg in ("RS256", "PS256")
    return _IMPLIED_ALGORITHM.get((key.get("kty"), key.get("crv"))) == alg


def _algs(alg: str, allowed: tuple[str, ...]) -> dict[str, str]:
    return {"alg": alg, "allowed": ", ".join(allowed)}
