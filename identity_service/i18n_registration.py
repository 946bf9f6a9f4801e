"""Texts of the self-service registration page (level 1), Vietnamese and English."""

from __future__ import annotations

REGISTRATION_MESSAGES: dict[str, dict[str, str]] = {
    "nav.register": {"vi": "Đăng ký tài khoản", "en": "Register"},
    "register.title": {
        "vi": "Đăng ký tài khoản định danh điện tử mức độ 1",
        "en": "Register a level-1 e-ID account",
    },
    "register.intro": {
        "vi": "Thông tin bạn khai báo được đối chiếu tự động với Cơ sở dữ liệu quốc gia về "
        "dân cư. Công dân từ đủ 14 tuổi trở lên được đăng ký.",
        "en": "What you declare is matched automatically against the national population "
        "database. Citizens aged 14 and over can register.",
    },
    "register.full_name": {"vi": "Họ, chữ đệm và tên khai sinh", "en": "Full name at birth"},
    "register.birth_date": {"vi": "Ngày sinh", "en": "Date of birth"},
    "register.phone": {
        "vi": "Số thuê bao di động chính chủ",
        "en": "Mobile number registered in your name",
    },
    "register.password_confirm": {"vi": "Nhập lại mật khẩu", "en": "Repeat the password"},
    "register.password_hint": {
        "vi": "Ít nhất 8 ký tự; có thể dùng cụm từ dài. Không dùng mật khẩu phổ biến, số "
        "định danh hay ngày sinh của bạn.",
        "en": "At least 8 characters; long passphrases are welcome. Not a common password, "
        "your ID number or your birth date.",
    },
    "register.submit": {"vi": "Đăng ký", "en": "Register"},
    "register.mismatch_confirmation": {
        "vi": "Hai mật khẩu không khớp nhau.",
        "en": "The two passwords differ.",
    },
    "register.bad_date": {
        "vi": "Ngày sinh không hợp lệ (định dạng YYYY-MM-DD).",
        "en": "The date of birth is not valid (format YYYY-MM-DD).",
    },
    "register.expired": {
        "vi": "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng nhập lại.",
        "en": "The form expired or is not valid. Please fill it in again.",
    },
    "register.done.title": {"vi": "Đăng ký thành công", "en": "Registration complete"},
    "register.done.body": {
        "vi": "Tài khoản định danh điện tử mức độ 1 của bạn đã được tạo. Bạn có thể đăng "
        "nhập vào các cổng dịch vụ công bằng số định danh cá nhân và mật khẩu.",
        "en": "Your level-1 e-ID account has been created. You can now log in at public "
        "service portals with your personal ID number and password.",
    },
    "register.done.account": {"vi": "Xem tài khoản của bạn", "en": "See your account"},
}
