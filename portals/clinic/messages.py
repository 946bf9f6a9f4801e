"""Texts of the demo clinic, Vietnamese first, English second."""

from __future__ import annotations

from portals.common.i18n import COMMON_MESSAGES, Catalogue

_VI = {
    "portal.title": "Phòng khám Demo",
    "nav.visits": "Lượt khám của tôi",
    "home.heading": "Đăng ký khám bằng định danh điện tử",
    "home.intro": (
        "Đăng nhập bằng tài khoản định danh điện tử để tự đăng ký khám, lấy số thứ tự và xem "
        "các lượt khám của bạn tại phòng khám."
    ),
    "home.visits": "Xem lượt khám và đăng ký khám",
    "visits.heading": "Lượt khám của tôi",
    "visits.list": "Các lượt khám",
    "visits.none": "Bạn chưa có lượt khám nào tại phòng khám.",
    "visits.day": "Ngày khám",
    "visits.department": "Chuyên khoa",
    "visits.queue_number": "Số thứ tự",
    "visits.reason": "Lý do khám",
    "visits.insurance": "Bảo hiểm y tế",
    "visits.status": "Trạng thái",
    "visits.checked_in": "Đã đăng ký khám: {department}, số thứ tự {number}.",
    "check_in.heading": "Tự đăng ký khám hôm nay",
    "check_in.department": "Chuyên khoa",
    "check_in.reason": "Lý do khám",
    "check_in.insurance": "Khám bằng thẻ bảo hiểm y tế",
    "check_in.submit": "Đăng ký khám",
    "check_in.error.department": "Chọn chuyên khoa.",
    "check_in.error.reason": "Ghi lý do khám (3 đến 300 ký tự).",
    "department.internal": "Nội tổng quát",
    "department.paediatrics": "Nhi",
    "department.ent": "Tai mũi họng",
    "department.dental": "Răng hàm mặt",
    "department.ophthalmology": "Mắt",
    "status.checked_in": "Đã đăng ký, chờ khám",
    "value.yes": "Có",
    "value.no": "Không",
    "nav.front_desk": "Quầy tiếp đón",
    "visits.channel": "Hình thức",
    "channel.self": "Tự đăng ký trực tuyến",
    "channel.front_desk": "Tại quầy (đã đối chiếu e-KYC)",
    "front_desk.heading": "Quầy tiếp đón: đăng ký khám cho bệnh nhân",
    "front_desk.intro": (
        "Dành cho nhân viên. Nhập thông tin trên thẻ căn cước (thẻ bảo hiểm y tế) của bệnh "
        "nhân; hệ thống của phòng khám đối chiếu với Cơ sở dữ liệu quốc gia về dân cư qua "
        "dịch vụ e-KYC trước khi đăng ký khám."
    ),
    "front_desk.unlock": "Mở quầy tiếp đón",
    "front_desk.passcode": "Mã quầy của nhân viên",
    "front_desk.unlock_submit": "Mở quầy",
    "front_desk.lock": "Đóng quầy",
    "front_desk.error.passcode": "Mã quầy không đúng.",
    "front_desk.error.national_id": "Số định danh cá nhân gồm đúng 12 chữ số.",
    "front_desk.error.full_name": "Nhập họ và tên (tối đa 200 ký tự).",
    "front_desk.error.birth_date": "Nhập ngày sinh hợp lệ.",
    "front_desk.error.gender": "Chọn giới tính.",
    "front_desk.form": "Thông tin bệnh nhân",
    "front_desk.submit": "Đối chiếu và đăng ký khám",
    "front_desk.checked_in": "Đã đăng ký khám cho {name}: {department}, số thứ tự {number}.",
    "front_desk.kyc_match": "Thông tin khớp với Cơ sở dữ liệu quốc gia về dân cư (mức {level}).",
    "front_desk.no_match": (
        "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư (hoặc số định danh không "
        "tồn tại)."
    ),
    "front_desk.no_visit": "Chưa đăng ký khám.",
    "front_desk.kyc_unavailable": "Dịch vụ e-KYC tạm thời không trả lời; vui lòng thử lại.",
    "front_desk.kyc_refused": (
        "Dịch vụ e-KYC từ chối yêu cầu đối chiếu (hãy kiểm tra lại số định danh)."
    ),
    "front_desk.kyc_untrusted": (
        "Câu trả lời nhận được không qua được kiểm tra chữ ký số nên không được dùng."
    ),
    "front_desk.kyc_error": "Không đối chiếu được thông tin.",
    "kyc.attribute.full_name": "Họ và tên",
    "kyc.attribute.birth_date": "Ngày sinh",
    "kyc.attribute.gender": "Giới tính",
    "kyc.flag.yes": "Khớp",
    "kyc.flag.no": "Không khớp",
}

_EN = {
    "portal.title": "Demo Clinic",
    "nav.visits": "My visits",
    "home.heading": "Check in with your e-ID",
    "home.intro": (
        "Log in with your e-ID to check yourself in, get a queue number and see your visits "
        "to the clinic."
    ),
    "home.visits": "See your visits and check in",
    "visits.heading": "My visits",
    "visits.list": "Visits",
    "visits.none": "You have no visits at the clinic yet.",
    "visits.day": "Day",
    "visits.department": "Department",
    "visits.queue_number": "Queue number",
    "visits.reason": "Reason",
    "visits.insurance": "Health insurance",
    "visits.status": "Status",
    "visits.checked_in": "Checked in: {department}, queue number {number}.",
    "check_in.heading": "Check in for today",
    "check_in.department": "Department",
    "check_in.reason": "Reason for the visit",
    "check_in.insurance": "Use my health-insurance card",
    "check_in.submit": "Check in",
    "check_in.error.department": "Choose a department.",
    "check_in.error.reason": "Give the reason (3 to 300 characters).",
    "department.internal": "General internal medicine",
    "department.paediatrics": "Paediatrics",
    "department.ent": "Ear, nose and throat",
    "department.dental": "Dentistry",
    "department.ophthalmology": "Ophthalmology",
    "status.checked_in": "Checked in, waiting",
    "value.yes": "Yes",
    "value.no": "No",
    "nav.front_desk": "Front desk",
    "visits.channel": "How",
    "channel.self": "Checked in online",
    "channel.front_desk": "At the front desk (verified by e-KYC)",
    "front_desk.heading": "Front desk: check a patient in",
    "front_desk.intro": (
        "For staff. Enter the details on the patient's chip ID card (their health-insurance "
        "card); the clinic's system checks them against the national population register "
        "through the e-KYC service before checking the patient in."
    ),
    "front_desk.unlock": "Open the front desk",
    "front_desk.passcode": "Staff front-desk passcode",
    "front_desk.unlock_submit": "Open",
    "front_desk.lock": "Close the front desk",
    "front_desk.error.passcode": "Wrong passcode.",
    "front_desk.error.national_id": "The personal ID number has exactly 12 digits.",
    "front_desk.error.full_name": "Enter the full name (at most 200 characters).",
    "front_desk.error.birth_date": "Enter a valid date of birth.",
    "front_desk.error.gender": "Choose the gender.",
    "front_desk.form": "The patient",
    "front_desk.submit": "Verify and check in",
    "front_desk.checked_in": "{name} is checked in: {department}, queue number {number}.",
    "front_desk.kyc_match": "The details match the national population register (level {level}).",
    "front_desk.no_match": (
        "The details do not match the national population register (or the ID number does "
        "not exist)."
    ),
    "front_desk.no_visit": "Not checked in.",
    "front_desk.kyc_unavailable": "The e-KYC service is not answering for now; try again.",
    "front_desk.kyc_refused": "The e-KYC service refused the check (verify the ID number).",
    "front_desk.kyc_untrusted": "The answer received failed the signature checks; not used.",
    "front_desk.kyc_error": "The details could not be checked.",
    "kyc.attribute.full_name": "Full name",
    "kyc.attribute.birth_date": "Date of birth",
    "kyc.attribute.gender": "Gender",
    "kyc.flag.yes": "Matches",
    "kyc.flag.no": "Does not match",
}

MESSAGES: Catalogue = {
    locale: {**COMMON_MESSAGES[locale], **texts} for locale, texts in (("vi", _VI), ("en", _EN))
}
