"""Checking the signed answer of natid's e-KYC verification API before a portal trusts it.

The API answers with a compact JWS (``typ: kyc-result+jwt``) signed with one of the IdP's
published keys. The portal's back-end accepts it only if: the signature verifies with a
key from the cached JWKS (asymmetric algorithms only); it is explicitly typed
``kyc-result+jwt`` (an ID token or logout token can never pass as an answer); ``iss`` is
the IdP and ``aud`` the back-end's own client id (an answer given to another relying
party proves nothing here); ``iat`` is fresh (not in the future, not older than
``max_age_seconds``, both with clock skew: the answer has no ``exp``, it is evidence of
what the register said at ``iat``); ``jti`` is the transaction id of the HTTP answer;
``result`` is ``match`` exactly when every attribute flag is true; and ``level`` is 1, or
2 only for a match after the portal sent the citizen's one-time code; and
``query_sha256`` is the digest of what the portal asked (``query_sha256``), so the answer
is about this number and these attributes, not another query's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from portals.common.jwks import JwksCache
from portals.common.signed_jwts import ACCEPTABLE_ALGORITHMS, SignedJwtError, verify_jwt

RESULT_TYPE = "kyc-result+jwt"
MATCH = "match"
NO_MATCH = "no_match"
ATTRIBUTES = ("full_name", "birth_date", "gender")
REQUIRED_CLAIMS = ("iss", "aud", "iat", "jti", "result", "matched", "level", "query_sha256")
# The attributes of a query the answer's digest covers (not the one-time code).
QUERY_FIELDS = ("personal_id_number", "full_name", "birth_date", "gender")
DEFAULT_MAX_AGE_SECONDS = 120


class KycError(Exception):
    """A verification that gave no usable answer (the tree is in ``kyc_client``)."""

    code = "kyc_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class KycAnswerError(KycError):
    """The answer is not one the portal can trust (forged, for someone else, stale …)."""

    code = "kyc_untrusted"


@dataclass(frozen=True, slots=True)
class KycResult:
    """A verified answer: the decoded claims and the JWS exactly as received (evidence)."""

    result: str
    matched: dict[str, bool]
    level: int
    transaction_id: str
    issued_at: int
    claims: dict[str, Any]
    result_jws: str

    @property
    def is_match(self) -> bool:
        return self.result == MATCH


async def verify_kyc_result(
    result_jws: str,
    keys: JwksCache,
    *,
    issuer: str,
    client_id: str,
    transaction_id: str,
    sent: Mapping[str, str],
    clock_skew_seconds: int = 60,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> KycResult:
    """The checked answer (see module doc); raises ``KycAnswerError``."""
    try:
        verified = await verify_jwt(
            result_jws,
            keys,
            issuer=issuer,
            audience=client_id,
            algorithms=ACCEPTABLE_ALGORITHMS,
            required=REQUIRED_CLAIMS,
            token_type=RESULT_TYPE,
            type_required=True,
        )
    except SignedJwtError as error:
        raise KycAnswerError(str(error)) from None
    claims = verified.claims
    issued_at = _fresh_issue_time(claims["iat"], clock(), clock_skew_seconds, max_age_seconds)
    jti = claims["jti"]
    if not isinstance(jti, str) or not hmac.compare_digest(
        jti.encode("utf-8"), transaction_id.encode("utf-8")
    ):
        raise KycAnswerError("the signed transaction id is not the one answered")
    digest = claims["query_sha256"]
    if not isinstance(digest, str) or not hmac.compare_digest(
        digest.encode("utf-8"), query_sha256(sent).encode("utf-8")
    ):
        raise KycAnswerError("the answer is about another query than the one sent")
    matched = _flags(claims["matched"])
    result = claims["result"]
    if result not in (MATCH, NO_MATCH) or (result == MATCH) != all(matched.values()):
        raise KycAnswerError("the result does not agree with the attribute flags")
    level = claims["level"]
    if level not in (1, 2) or isinstance(level, bool):
        raise KycAnswerError("the level is not 1 or 2")
    if level == 2 and (result != MATCH or not sent.get("otp")):
        raise KycAnswerError("level 2 without a match confirmed by the citizen's code")
    return KycResult(
        result=result,
        matched=matched,
        level=level,
        transaction_id=jti,
        issued_at=issued_at,
        claims=claims,
        result_jws=result_jws,
    )


def query_sha256(sent: Mapping[str, str]) -> str:
    """What the answer's ``query_sha256`` must be for the request body ``sent``: base64url
    (no padding) of the SHA-256 of the UTF-8 canonical JSON (keys sorted, no whitespace,
    characters unescaped) of its ``QUERY_FIELDS`` exactly as sent."""
    text = json.dumps(
        {name: sent[name] for name in QUERY_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _fresh_issue_time(issued: object, now: float, skew: int, max_age: int) -> int:
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise KycAnswerError("iat must be a whole number")
    if issued - skew > now:
        raise KycAnswerError("issued in the future")
    if issued + max_age + skew < now:
        raise KycAnswerError("the answer is stale")
    return issued


def _flags(matched: object) -> dict[str, bool]:
    if not isinstance(matched, dict) or set(matched) != set(ATTRIBUTES):
        raise KycAnswerError("the attribute flags are not the ones asked about")
    if not all(isinstance(flag, bool) for flag in matched.values()):
        raise KycAnswerError("the attribute flags must be true or false")
    return {attribute: matched[attribute] for attribute in ATTRIBUTES}
