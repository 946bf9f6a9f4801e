"""Which of a client's registered public keys may have signed a JWT it sent.

Shared by the two places where a client signs: ``private_key_jwt`` assertions
(``client_auth``, RFC 7523) and signed request objects (``request_objects``, RFC 9101).
A key qualifies when its type fits the JWS algorithm, its ``kid`` is the header's (when
the header names one), and its declared ``alg``, if any, is the header's.
"""

from __future__ import annotations

from identity_service.oidc.clients import RegisteredClient, VerificationKey

KEY_TYPES_BY_ALGORITHM = {"ES256": "EC", "EdDSA": "OKP", "RS256": "RSA", "PS256": "RSA"}


def candidate_keys(client: RegisteredClient, alg: str, kid: object) -> list[VerificationKey]:
    """The client's keys that may verify a JWS with header ``alg`` and ``kid``."""
    key_type = KEY_TYPES_BY_ALGORITHM.get(alg)
    if key_type is None:
        return []
    return [
        key
        for key in client.verification_keys
        if key.key_type == key_type
        and (kid is None or key.kid == kid)
        and (key.alg is None or key.alg == alg)
    ]
