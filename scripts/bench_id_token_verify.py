"""Benchmark: a portal's offline ID-token verification against the raw ES256 verify.

Measures, in one process and one run, three rates on the same ES256 ID token (as natid
signs it: ``kid``, ``acr``, ``nonce``, ``at_hash``):

* **raw**: ``cryptography``'s ECDSA P-256 verify of the token's signing input — the
  cryptography alone, the ceiling;
* **PyJWT**: ``jwt.decode`` with the key, ``iss`` and ``aud`` checks — what a library
  adds;
* **portal**: ``portals.common.id_tokens.IdTokenVerifier.verify`` with a warm JWKS cache
  — everything a natid portal checks (signature, ``iss``, ``aud``, ``azp``, times,
  ``nonce``, ``at_hash``, level).

Each is timed for ``--seconds`` in ``--rounds`` alternating rounds; the report gives the
median rate of each and the portal's rate as a share of the raw one. CPU time of this
thread (``time.thread_time``), so a busy machine moves the figures less::

    .venv/bin/python scripts/bench_id_token_verify.py [--seconds 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from portals.common.id_tokens import IdTokenVerifier
from portals.common.jwks import JwksCache

ISSUER = "https://id.natid.test"
CLIENT_ID = "bench-portal"
KID = "bench-key"
NONCE = "n-0S6_WzA2Mj"
ACCESS_TOKEN = "bench-access-token"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_token(private_key: ec.EllipticCurvePrivateKey) -> str:
    now = int(time.time())
    digest = hashlib.sha256(ACCESS_TOKEN.encode()).digest()
    claims = {
        "iss": ISSUER,
        "sub": "pairwise-subject",
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "exp": now + 3600,
        "iat": now,
        "auth_time": now,
        "nonce": NONCE,
        "acr": "urn:natid:acr:level1",
        "amr": ["pwd"],
        "sid": "session",
        "at_hash": _b64url(digest[:16]),
    }
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": KID})


def rate(operation: Callable[[], Any], seconds: float) -> float:
    """Operations per CPU-second of this thread."""
    done, started = 0, time.thread_time()
    while (elapsed := time.thread_time() - started) < seconds:
        for _ in range(100):
            operation()
        done += 100
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    private_key = ec.generate_private_key(ec.SECP256R1())
    public_key = private_key.public_key()
    token = make_token(private_key)
    signing_input, _, signature = token.rpartition(".")
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    der = encode_dss_signature(
        int.from_bytes(raw_signature[:32], "big"), int.from_bytes(raw_signature[32:], "big")
    )
    message = signing_input.encode()
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key)), "kid": KID}

    async def fetch() -> dict[str, Any]:
        return {"keys": [jwk]}

    loop = asyncio.new_event_loop()
    keys = JwksCache(fetch)
    verifier = IdTokenVerifier(keys, issuer=ISSUER, client_id=CLIENT_ID, algorithms=["ES256"])

    def portal() -> None:
        # One coroutine step, no event-loop scheduling: what a route awaiting it pays.
        coroutine = verifier.verify(token, nonce=NONCE, min_level=1, access_token=ACCESS_TOKEN)
        try:
            coroutine.send(None)
        except StopIteration:
            return
        raise RuntimeError("the verifier waited for something: the JWKS cache is cold")

    loop.run_until_complete(keys.key(KID))  # warm the cache

    def raw() -> None:
        public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))

    def pyjwt() -> None:
        jwt.decode(token, public_key, algorithms=["ES256"], audience=CLIENT_ID, issuer=ISSUER)

    measured: dict[str, list[float]] = {"raw": [], "PyJWT": [], "portal": []}
    operations = {"raw": raw, "PyJWT": pyjwt, "portal": portal}
    for _ in range(options.rounds):
        for name, operation in operations.items():
            measured[name].append(rate(operation, options.seconds))
    medians = {name: statistics.median(values) for name, values in measured.items()}
    print(f"{options.rounds} rounds of {options.seconds:g} CPU-s each, medians:\n")
    print("| verification | per CPU-second | share of raw |")
    print("|---|---:|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value:,.0f} | {value / medians['raw']:.0%} |")
    loop.close()


if __name__ == "__main__":
    main()
