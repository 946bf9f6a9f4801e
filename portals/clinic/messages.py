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
}

MESSAGES: Catalogue = {
    locale: {**COMMON_MESSAGES[locale], **texts} for locale, texts in (("vi", _VI), ("en", _EN))
}
