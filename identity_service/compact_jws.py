"""Reading a compact JWS once, for the checks the provider makes on every request.

Access tokens at userinfo, introspection and the e-KYC API, and DPoP proofs, are read
here instead of by ``jwt.decode``: PyJWT parses the header twice and checks each segment
character by character, which costs more than the ES256 signature itself. A token is
accepted only in its canonical spelling (RFC 7515 §2: three base64url segments without
padding; the signature re-encodes to the same text, so one token has one spelling). The
signature is verified by PyJWT's algorithm objects over ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import get_default_algorithms

_SEGMENTS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_ALGORITHMS = get_default_algorithms()


class MalformedJwsError(ValueError):
    """Not a canonical compact JWS with JSON-object header and payload."""


@dataclass(frozen=True, slots=True)
class CompactJws:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def signed_by(self, public_key: Any, alg: str) -> bool:
        """Whether the signature verifies with ``public_key`` under ``alg`` (never ``none``)."""
        algorithm = _ALGORITHMS.get(alg)
        if algorithm is None or alg == "none" or alg.startswith("HS"):
            return False
        try:
            return bool(algorithm.verify(self.signing_input, public_key, self.signature))
        except (ValueError, TypeError):
            return False


def parse_compact_jws(token: str) -> CompactJws:
    """The header, claims, signing input and signature of ``token``, unverified."""
    match = _SEGMENTS.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise MalformedJwsError("not a compact JWS")
    signature_text = match[3]
    signature = _decoded(signature_text)
    if base64.urlsafe_b64encode(signature).rstrip(b"=") != signature_text.encode("ascii"):
        raise MalformedJwsError("the signature is not spelled canonically")
    return CompactJws(
        header=_json_object(_decoded(match[1]), "header"),
        claims=_json_object(_decoded(match[2]), "payload"),
        signing_input=token[: match.end(2)].encode("ascii"),
        signature=signature,
    )


def _decoded(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedJwsError("a segment is not base64url") from None


def _json_object(raw: bytes, part: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:  # also invalid UTF-8
        raise MalformedJwsError(f"the {part} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedJwsError(f"the {part} is not a JSON object")
    return value
