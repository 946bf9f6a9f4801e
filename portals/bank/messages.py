"""Texts of the demo bank, Vietnamese first, English second."""

from __future__ import annotations

from portals.common.i18n import COMMON_MESSAGES, Catalogue

_VI = {
    "portal.title": "Ngân hàng Demo",
    "nav.open_account": "Mở tài khoản",
    "home.heading": "Mở tài khoản trực tuyến bằng định danh điện tử",
    "home.intro": (
        "Không cần đến quầy: đăng nhập bằng tài khoản định danh điện tử mức 2 (mật khẩu và "
        "mã OTP), ngân hàng nhận thông tin nhân thân đã được xác thực."
    ),
    "home.start": "Mở tài khoản ngay",
    "home.my_applications": "Yêu cầu mở tài khoản của bạn",
    "open.heading": "Mở tài khoản thanh toán",
    "open.identity_intro": (
        "Thông tin dưới đây do hệ thống định danh điện tử cung cấp sau khi bạn xác thực mức 2."
    ),
    "open.account_type": "Loại tài khoản",
    "account_type.payment_vnd": "Tài khoản thanh toán (VND)",
    "account_type.savings_vnd": "Tài khoản tiết kiệm trực tuyến (VND)",
    "open.terms": "Tôi đồng ý với điều khoản mở và sử dụng tài khoản của Ngân hàng Demo.",
    "open.submit": "Gửi yêu cầu mở tài khoản",
    "open.error.terms": "Bạn cần đồng ý với điều khoản.",
    "open.error.account_type": "Chọn loại tài khoản.",
    "open.missing_claims": (
        "Tài khoản định danh chưa cung cấp đủ họ tên, ngày sinh và số định danh cá nhân."
    ),
    "application.heading": "Yêu cầu {reference}",
    "application.submitted": "Ngân hàng đã nhận yêu cầu mở tài khoản {reference}.",
    "application.reference": "Mã yêu cầu",
    "application.submitted_at": "Thời điểm gửi",
    "application.status": "Trạng thái",
    "application.level": "Mức định danh khi gửi",
    "status.received": "Đã tiếp nhận",
}

_EN = {
    "portal.title": "Demo Bank",
    "nav.open_account": "Open an account",
    "home.heading": "Open an account online with your e-ID",
    "home.intro": (
        "No branch visit: log in with your e-ID at level 2 (password and one-time code) and "
        "the bank receives your verified identity."
    ),
    "home.start": "Open an account now",
    "home.my_applications": "Your account applications",
    "open.heading": "Open a payment account",
    "open.identity_intro": (
        "The details below come from the e-ID service after you verified at level 2."
    ),
    "open.account_type": "Account",
    "account_type.payment_vnd": "Payment account (VND)",
    "account_type.savings_vnd": "Online savings account (VND)",
    "open.terms": "I accept Demo Bank's terms for opening and using an account.",
    "open.submit": "Send the application",
    "open.error.terms": "You need to accept the terms.",
    "open.error.account_type": "Choose an account.",
    "open.missing_claims": (
        "Your e-ID did not provide your name, birth date and personal ID number."
    ),
    "application.heading": "Application {reference}",
    "application.submitted": "The bank received account application {reference}.",
    "application.reference": "Reference",
    "application.submitted_at": "Sent",
    "application.status": "Status",
    "application.level": "e-ID level when sent",
    "status.received": "Received",
}

MESSAGES: Catalogue = {
    locale: {**COMMON_MESSAGES[locale], **texts} for locale, texts in (("vi", _VI), ("en", _EN))
}
