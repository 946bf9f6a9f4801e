"""The bank back-end's e-KYC check of an account application, and the evidence it keeps.

After the customer sends an application, the bank asks natid's e-KYC verification API
(``portals.common.kyc_client``) whether the ID number, full name, birth date and gender
on it match the national population register, optionally with the customer's current
one-time code (a match is then a level-2 answer). Every attempt is recorded, with the
signed answer exactly as received when one was trusted:

* ``match``: the application becomes ``verified``;
* ``no_match``: it becomes ``rejected`` (the flags say which attributes differ);
* ``unavailable`` (the IdP unreachable or rate-limiting), ``refused`` (the IdP refused
  the bank's client or request) or ``untrusted`` (an answer that failed verification:
  forged, for another party, stale): nothing is decided and the application stays
  ``kyc_pending``, so the check can be run again.

Attempts live in a table of their own, so bank databases made before the check existed
gain it without a migration.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Field, Session, col, select
from starlette.concurrency import run_in_threadpool

from portals.bank.accounts import (
    STATUS_KYC_PENDING,
    STATUS_REJECTED,
    STATUS_VERIFIED,
    AccountApplication,
    BankBase,
)
from portals.common.kyc_client import (
    KycAnswerError,
    KycApplicant,
    KycClient,
    KycError,
    KycRefusedError,
    KycResult,
    KycUnavailableError,
)

logger = logging.getLogger(__name__)

OUTCOME_MATCH = "match"
OUTCOME_NO_MATCH = "no_match"
OUTCOME_UNAVAILABLE = "unavailable"
OUTCOME_REFUSED = "refused"
OUTCOME_UNTRUSTED = "untrusted"
_STATUS_AFTER = {OUTCOME_MATCH: STATUS_VERIFIED, OUTCOME_NO_MATCH: STATUS_REJECTED}


class KycCheck(BankBase, table=True):
    __tablename__ = "account_application_kyc"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="account_application.id", index=True)
    gender: str = Field(max_length=8)
    with_otp: bool
    outcome: str = Field(max_length=16)
    level: int | None = None
    transaction_id: str = ""
    # The compact JWS as received, and its verified claims (JSON): the bank's evidence.
    result_jws: str = ""
    claims_json: str = ""
    detail: str = ""
    checked_at: dt.datetime

    @property
    def claims(self) -> dict[str, Any]:
        return json.loads(self.claims_json) if self.claims_json else {}

    @property
    def mismatched(self) -> list[str]:
        """The attributes the register did not confirm."""
        matched = self.claims.get("matched", {})
        return [attribute for attribute, flag in matched.items() if flag is False]


class ApplicationChecks:
    def __init__(
        self, engine: Engine, kyc: KycClient, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._engine = engine
        self._kyc = kyc
        self._clock = clock

    async def check(
        self, application: AccountApplication, gender: str, otp: str | None = None
    ) -> KycCheck:
        """Ask the register about ``application`` and record the attempt."""
        applicant = KycApplicant(
            personal_id_number=application.national_id,
            full_name=application.full_name,
            birth_date=application.birth_date,
            gender=gender,
            otp=otp or None,
        )
        result: KycResult | None = None
        try:
            result = await self._kyc.verify(applicant)
            outcome = OUTCOME_MATCH if result.is_match else OUTCOME_NO_MATCH
            detail = ""
        except KycError as error:
            outcome = _outcome_of(error)
            detail = error.detail
        logger.info(
            "e-KYC check of application %s: %s%s",
            application.reference,
            outcome,
            f" (transaction {result.transaction_id}, level {result.level})" if result else "",
        )
        return await run_in_threadpool(
            self._record, application, gender, bool(otp), outcome, result, detail
        )

    def attempts(self, application: AccountApplication) -> list[KycCheck]:
        """The checks of ``application``, newest first."""
        with Session(self._engine) as session:
            query = (
                select(KycCheck)
                .where(KycCheck.application_id == application.id)
                .order_by(col(KycCheck.id).desc())
            )
            return list(session.exec(query))

    def _record(
        self,
        application: AccountApplication,
        gender: str,
        with_otp: bool,
        outcome: str,
        result: KycResult | None,
        detail: str,
    ) -> KycCheck:
        assert application.id is not None
        check = KycCheck(
            application_id=application.id,
            gender=gender,
            with_otp=with_otp,
            outcome=outcome,
            level=result.level if result else None,
            transaction_id=result.transaction_id if result else "",
            result_jws=result.result_jws if result else "",
            claims_json=json.dumps(result.claims, ensure_ascii=False) if result else "",
            detail=detail[:500],
            checked_at=dt.datetime.fromtimestamp(self._clock(), dt.UTC),
        )
        with Session(self._engine, expire_on_commit=False) as session:
            session.add(check)
            stored = session.get(AccountApplication, application.id)
            new_status = _STATUS_AFTER.get(outcome)
            if stored is not None and new_status and stored.status == STATUS_KYC_PENDING:
                stored.status = new_status
                session.add(stored)
            session.commit()
            if stored is not None:
                application.status = stored.status
        return check


def _outcome_of(error: KycError) -> str:
    if isinstance(error, KycAnswerError):
        return OUTCOME_UNTRUSTED
    if isinstance(error, KycRefusedError):
        return OUTCOME_REFUSED
    if isinstance(error, KycUnavailableError):
        return OUTCOME_UNAVAILABLE
    return OUTCOME_REFUSED
