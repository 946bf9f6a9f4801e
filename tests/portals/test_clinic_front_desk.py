"""The clinic's front desk: e-KYC-verified check-ins, and the patient seeing them later.

The front desk's back-end (client ``demo-clinic-backend``, client secret) verifies what
staff typed with the real e-KYC API; only a match records a visit, which the patient
sees after logging in at level 1 because the clinic receives the ``national_id`` claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlmodel import Session, select

from identity_service.api.deps import IdentityServices
from population_db.identifiers import PersonalIdNumber
from portals.clinic.settings import DEMO_FRONT_DESK_PASSCODE
from portals.clinic.visits import FrontDeskCheckIn, Visit
from tests.portals.support import CLINIC, IDP, Browser, Citizen, FakeClock, Network, log_in

pytestmark = pytest.mark.anyio
FRONT_DESK = f"{CLINIC}/front-desk"
KYC_PATH = "/api/v1/kyc/verify"


@pytest.fixture
async def staff(clinic: FastAPI, network: Network) -> AsyncIterator[Browser]:
    """The front-desk workstation's browser, unlocked with the demo passcode."""
    workstation = Browser(network)
    page = await workstation.get(FRONT_DESK)
    unlocked = await workstation.submit(
        page, "/front-desk/unlock", passcode=DEMO_FRONT_DESK_PASSCODE
    )
    assert workstation.find_form(unlocked, "/front-desk/check-in") is not None
    yield workstation
    await workstation.aclose()


def card_of(services: IdentityServices, citizen: Citizen, **changes: str) -> dict[str, str]:
    """What is printed on the citizen's ID card (from the register), as staff type it."""
    record = services.population.get(citizen.personal_id_number)
    assert record is not None
    card = {
        "national_id": record.personal_id_number,
        "full_name": record.full_name,
        "birth_date": record.birth_date.isoformat(),
        "gender": record.gender,
        "department": "internal",
        "reason": "Khám sức khỏe định kỳ",
        "health_insurance": "yes",
    }
    return {**card, **changes}


def visits_and_evidence(clinic: FastAPI) -> tuple[list[Visit], list[FrontDeskCheckIn]]:
    with Session(clinic.state.portal.engine) as session:
        return list(session.exec(select(Visit))), list(session.exec(select(FrontDeskCheckIn)))


async def check_in(staff: Browser, card: dict[str, str]) -> httpx.Response:
    return await staff.submit(await staff.get(FRONT_DESK), "/front-desk/check-in", **card)


async def test_the_front_desk_is_locked_without_the_staff_passcode(
    clinic: FastAPI, browser: Browser
) -> None:
    page = await browser.get(FRONT_DESK)
    assert browser.find_form(page, "/front-desk/check-in") is None
    wrong = await browser.submit(page, "/front-desk/unlock", passcode="guess")
    assert wrong.status_code == 403
    assert "Mã quầy không đúng." in wrong.text
    forced = await browser.http.post(f"{FRONT_DESK}/check-in", data={"national_id": "079092999004"})
    assert forced.status_code == 403


async def test_a_verified_patient_is_checked_in_and_sees_the_visit_after_logging_in(
    clinic: FastAPI,
    idp_services: IdentityServices,
    staff: Browser,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    patient = citizens[1]

    desk = await check_in(staff, card_of(idp_services, patient))

    assert desk.status_code == 200
    assert f"Đã đăng ký khám cho {patient.full_name}: Nội tổng quát, số thứ tự 1." in desk.text
    assert "Thông tin khớp với Cơ sở dữ liệu quốc gia về dân cư (mức 1)." in desk.text
    (visit,), (evidence,) = visits_and_evidence(clinic)
    assert visit.channel == "front_desk" and visit.subject == ""
    assert evidence.visit_id == visit.id
    assert evidence.national_id == patient.personal_id_number
    claims = jwt.decode(evidence.kyc_result_jws, options={"verify_signature": False})
    assert claims["aud"] == "demo-clinic-backend" and claims["result"] == "match"
    assert claims["jti"] == evidence.kyc_transaction_id and claims["jti"] in desk.text
    # The back-end authenticated with its client secret (HTTP Basic).
    (token_request,) = [
        request
        for request in network.requests_to(IDP, "/token")
        if b"grant_type=client_credentials" in request.content
    ]
    assert token_request.headers["authorization"].startswith("Basic ")

    page = await log_in(browser, f"{CLINIC}/visits", patient, clock)

    assert str(page.url) == f"{CLINIC}/visits"
    assert patient.personal_id_number in page.text  # the clinic now receives national_id
    assert page.text.count('class="queue-number"') == 1
    assert "Tại quầy (đã đối chiếu e-KYC)" in page.text
    assert "Khám sức khỏe định kỳ" in page.text


async def test_another_patient_does_not_see_a_front_desk_visit(
    clinic: FastAPI,
    idp_services: IdentityServices,
    staff: Browser,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
) -> None:
    await check_in(staff, card_of(idp_services, citizens[1]))

    page = await log_in(browser, f"{CLINIC}/visits", citizens[2], clock)

    assert "Bạn chưa có lượt khám nào" in page.text


async def test_an_unknown_id_number_gets_no_match_and_no_check_in(
    clinic: FastAPI,
    idp_services: IdentityServices,
    staff: Browser,
    citizens: dict[int, Citizen],
) -> None:
    unknown = PersonalIdNumber.build(79, 1992, "male", 424242).value
    assert idp_services.population.get(unknown) is None

    desk = await check_in(staff, card_of(idp_services, citizens[1], national_id=unknown))

    assert desk.status_code == 200
    assert "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư" in desk.text
    assert "<code>no_match</code>" in desk.text
    assert desk.text.count("Không khớp</li>") == 3  # indistinguishable from a mismatch
    assert "Chưa đăng ký khám." in desk.text
    assert visits_and_evidence(clinic) == ([], [])
    # The form keeps what staff typed, to correct it.
    assert f'value="{unknown}"' in desk.text


async def test_a_name_the_register_does_not_have_gets_no_match_with_its_flag(
    clinic: FastAPI,
    idp_services: IdentityServices,
    staff: Browser,
    citizens: dict[int, Citizen],
) -> None:
    card = card_of(idp_services, citizens[1], full_name="Nguyễn Văn Người Khác")

    desk = await check_in(staff, card)

    assert "Họ và tên: Không khớp" in desk.text
    assert "Ngày sinh: Khớp" in desk.text and "Giới tính: Khớp" in desk.text
    assert visits_and_evidence(clinic) == ([], [])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"national_id": "07909299900"}, "Số định danh cá nhân gồm đúng 12 chữ số."),
        ({"national_id": "07909299900x"}, "Số định danh cá nhân gồm đúng 12 chữ số."),
        ({"full_name": "   "}, "Nhập họ và tên"),
        ({"birth_date": "1990-02-30"}, "Nhập ngày sinh hợp lệ."),
        (
            {"birth_date": (dt.date.today() + dt.timedelta(days=2)).isoformat()},
            "Nhập ngày sinh hợp lệ.",
        ),
        ({"gender": "other"}, "Chọn giới tính."),
        ({"department": "surgery"}, "Chọn chuyên khoa."),
    ],
)
async def test_invalid_fields_are_refused_before_any_e_kyc_call(
    clinic: FastAPI,
    idp_services: IdentityServices,
    staff: Browser,
    citizens: dict[int, Citizen],
    network: Network,
    changes: dict[str, str],
    message: str,
) -> None:
    desk = await check_in(staff, card_of(idp_services, citizens[1], **changes))

    assert desk.status_code == 400
    assert message in desk.text
    assert network.requests_to(IDP, KYC_PATH) == []
    assert visits_and_evidence(clinic) == ([], [])


async def test_a_number_the_idp_calls_malformed_is_refused_without_a_check_in(
    clinic: FastAPI,
    idp_services: IdentityServices,
    staff: Browser,
    citizens: dict[int, Citizen],
) -> None:
    # Twelve digits, but 999 is no province or country code: the API answers 422.
    desk = await check_in(staff, card_of(idp_services, citizens[1], national_id="999092999004"))

    assert desk.status_code == 502
    assert "Dịch vụ e-KYC từ chối yêu cầu đối chiếu" in desk.text
    assert "422" in desk.text
    assert visits_and_evidence(clinic) == ([], [])


async def test_a_forged_match_is_not_trusted_and_checks_no_one_in(
    clinic: FastAPI,
    idp_services: IdentityServices,
    staff: Browser,
    citizens: dict[int, Citizen],
    network: Network,
) -> None:
    forger = ec.generate_private_key(ec.SECP256R1())

    def forge(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != KYC_PATH:
            return response
        body: dict[str, Any] = response.json()
        header = jwt.get_unverified_header(body["result_jws"])
        claims = jwt.decode(body["result_jws"], options={"verify_signature": False})
        claims.update(result="match", matched=dict.fromkeys(claims["matched"], True))
        body["result_jws"] = jwt.encode(claims, forger, algorithm="ES256", headers=header)
        return httpx.Response(200, json=body, request=request)

    network.response_hooks.append(forge)
    unknown = PersonalIdNumber.build(79, 1992, "male", 424243).value

    desk = await check_in(staff, card_of(idp_services, citizens[1], national_id=unknown))

    assert "không qua được kiểm tra chữ ký số" in desk.text
    assert "bad signature" in desk.text
    assert visits_and_evidence(clinic) == ([], [])
