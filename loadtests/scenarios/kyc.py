"""e-KYC checks from a bank's back-end (tag ``kyc``).

The bank holds one machine access token (client credentials, ``kyc.verify``), shared by
all its simulated requests in a Locust process and renewed a minute before it expires;
each flow is one ``POST /api/v1/kyc/verify`` with what the bank holds about a citizen.
One check in ``MISMATCH_EVERY`` sends a birth date one day off, as a customer's typo
would: the answer must then be ``no_match``, else ``match``. The bank verifies the
signed answer (``typ: kyc-result+jwt``, ES256) against the cached JWKS: issuer, audience
(itself), the expected result, the transaction id, and that it answers the query sent
(``query_sha256``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import time
from functools import cache
from typing import Any

import jwt
from locust import tag, task

from loadtests import config
from loadtests.config import KycSubject, LoadTestClient
from loadtests.scenarios.common import FlowFailedError, IdpUser, clients, json_object_check
from loadtests.scenarios.tokens import client_credentials_token

KYC_VERIFY_PATH = "/api/v1/kyc/verify"
RESULT_TYPE = "kyc-result+jwt"
MISMATCH_EVERY = 10
RENEW_BEFORE_EXPIRY_SECONDS = 60


@cache
def kyc_subjects() -> list[KycSubject]:
    return config.read_kyc_subjects(config.kyc_subjects_path())


class _BankToken:
    """The bank back-end's current machine token (one per Locust process)."""

    value: str | None = None
    renew_at: float = 0.0


_subject_counter = itertools.count()


class EkycVerify(IdpUser):
    """A bank checking what a customer told it against the population register."""

    weight = 35

    @tag("kyc")
    @task
    def verify(self) -> None:
        bank = clients().bank
        subjects = kyc_subjects()
        index = next(_subject_counter)
        subject = subjects[(index + self.worker_index * 7919) % len(subjects)]
        mismatch = index % MISMATCH_EVERY == MISMATCH_EVERY - 1
        with self.flow("e-KYC verify"):
            if bank is None:
                raise FlowFailedError("no back-end client was provisioned")
            token = self._token(bank)
            birth_date = dt.date.fromisoformat(subject.birth_date)
            if mismatch:
                birth_date += dt.timedelta(days=1)
            body = {**subject.as_json(), "birth_date": birth_date.isoformat()}
            answer = self.step(
                "POST",
                KYC_VERIFY_PATH,
                "kyc: verify",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                check=_kyc_answer,
            ).json()
            expected = "no_match" if mismatch else "match"
            self._check_answer(bank, answer, expected, query_sha256(body))

    def _token(self, bank: LoadTestClient) -> str:
        if _BankToken.value is None or time.monotonic() >= _BankToken.renew_at:
            response = client_credentials_token(self, bank, "kyc: token (client credentials)")
            _BankToken.value = response["access_token"]
            lifetime = max(int(response["expires_in"]) - RENEW_BEFORE_EXPIRY_SECONDS, 1)
            _BankToken.renew_at = time.monotonic() + lifetime
        return _BankToken.value

    def _check_answer(
        self, bank: LoadTestClient, answer: dict[str, Any], expected: str, digest: str
    ) -> None:
        signed = answer["result_jws"]
        keys = self.key_set()
        issuer = self.issuer
        header = jwt.get_unverified_header(signed)
        keys.key(str(header.get("kid")))  # a JWKS download on a miss is its own step

        def verify() -> None:
            if header.get("typ") != RESULT_TYPE or header.get("alg") != "ES256":
                raise ValueError(f"not a {RESULT_TYPE} signed ES256")
            key = keys.key(str(header.get("kid")))
            if key is None:
                raise ValueError("signed with an unknown key")
            claims = jwt.decode(
                signed, key.key, algorithms=["ES256"], audience=bank.client_id, issuer=issuer
            )
            if claims.get("result") != expected:
                raise ValueError(f"result {claims.get('result')!r}, expected {expected!r}")
            if claims.get("jti") != answer["transaction_id"]:
                raise ValueError("the signed transaction id differs from the response's")
            if claims.get("query_sha256") != digest:
                raise ValueError("the signed answer is about another query")

        self.local_check("verify e-KYC answer", verify)


def query_sha256(sent: dict[str, str]) -> str:
    """The digest the answer's ``query_sha256`` must carry for the body ``sent``
    (docs/integrating.md): SHA-256 of the four attributes' canonical JSON, base64url."""
    fields = ("personal_id_number", "full_name", "birth_date", "gender")
    text = json.dumps(
        {name: sent[name] for name in fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _kyc_answer(response: Any) -> str | None:
    problem = json_object_check(response)
    if problem is not None:
        return problem
    body = response.json()
    if not isinstance(body.get("result_jws"), str) or not body.get("transaction_id"):
        return "no signed result in the e-KYC answer"
    return None
