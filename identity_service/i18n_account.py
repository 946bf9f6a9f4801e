"""Texts of the citizen's account page (``/account``) in Vietnamese and English.

Merged into ``identity_service.i18n.MESSAGES``; kept apart because the account page has
many of them. Claim and scope names come from the main table.
"""

from __future__ import annotations

ACCOUNT_MESSAGES: dict[str, dict[str, str]] = {
    "nav.account": {"vi": "Tài khoản của tôi", "en": "My account"},
    "account.client_name": {
        "vi": "Trang tài khoản định danh điện tử",
        "en": "The e-ID account page",
    },
    "account.title": {"vi": "Tài khoản định danh điện tử", "en": "Your e-ID account"},
    "account.greeting": {"vi": "Xin chào, {name}.", "en": "Hello, {name}."},
    "account.id_number": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "account.level_label": {"vi": "Mức độ tài khoản", "en": "Account level"},
    "account.level": {"vi": "Mức độ {level}", "en": "Level {level}"},
    "account.session_level": {
        "vi": "Phiên đăng nhập hiện tại: mức độ {level}",
        "en": "This session: level {level}",
    },
    "account.consents.title": {
        "vi": "Dịch vụ bạn đã đồng ý chia sẻ thông tin",
        "en": "Services you share your data with",
    },
    "account.consents.none": {
        "vi": "Bạn chưa đồng ý chia sẻ thông tin với dịch vụ nào.",
        "en": "You have not agreed to share data with any service.",
    },
    "account.consents.since": {"vi": "Từ {date}", "en": "Since {date}"},
    "account.consents.withdraw": {"vi": "Rút lại đồng ý", "en": "Withdraw consent"},
    "account.consents.withdraw_hint": {
        "vi": "Dịch vụ sẽ phải hỏi lại bạn và mất quyền truy cập lâu dài (refresh token).",
        "en": "The service must ask you again and loses its lasting access (refresh tokens).",
    },
    "account.history.title": {"vi": "Lịch sử chia sẻ thông tin", "en": "Who received your data"},
    "account.history.none": {"vi": "Chưa có lần chia sẻ nào.", "en": "Nothing shared yet."},
    "account.history.kyc": {
        "vi": "đối chiếu thông tin của bạn: {result}",
        "en": "checked your details: {result}",
    },
    "account.history.level": {"vi": "mức độ {level}", "en": "level {level}"},
    "account.kyc.match": {"vi": "khớp", "en": "match"},
    "account.kyc.no_match": {"vi": "không khớp", "en": "no match"},
    "account.kyc.otp_locked": {
        "vi": "bị từ chối (nhập sai mã quá nhiều lần)",
        "en": "refused (too many wrong codes)",
    },
    "account.sign_ins.title": {"vi": "Hoạt động đăng nhập", "en": "Sign-in activity"},
    "account.sign_ins.none": {"vi": "Chưa có hoạt động.", "en": "No activity yet."},
    "account.sign_in.login.success": {"vi": "Đăng nhập", "en": "Logged in"},
    "account.sign_in.login.failure": {
        "vi": "Đăng nhập không thành công",
        "en": "Failed login attempt",
    },
    "account.sign_in.login.locked": {
        "vi": "Tạm khóa do nhập sai nhiều lần",
        "en": "Locked after repeated failures",
    },
    "account.sign_in.stepup": {
        "vi": "Xác thực bổ sung (mã xác thực)",
        "en": "Extra verification (code)",
    },
    "account.password.title": {"vi": "Đổi mật khẩu", "en": "Change password"},
    "account.password.current": {"vi": "Mật khẩu hiện tại", "en": "Current password"},
    "account.password.new": {"vi": "Mật khẩu mới", "en": "New password"},
    "account.password.confirm": {"vi": "Nhập lại mật khẩu mới", "en": "New password again"},
    "account.password.hint": {
        "vi": "Ít nhất 8 ký tự; không dùng mật khẩu phổ biến, số định danh hay ngày sinh.",
        "en": "At least 8 characters; no common password, ID number or birth date.",
    },
    "account.password.submit": {"vi": "Đổi mật khẩu", "en": "Change password"},
    "account.second_factor.title": {
        "vi": "Đổi thiết bị xác thực",
        "en": "Change your authenticator",
    },
    "account.second_factor.link": {
        "vi": "Đổi thiết bị xác thực (cần nhập mã hiện tại)",
        "en": "Change your authenticator (needs a current code)",
    },
    "account.second_factor.intro": {
        "vi": "Tạo khóa mới cho ứng dụng xác thực, ví dụ khi bạn đổi điện thoại. "
        "Khóa cũ vẫn dùng được cho đến khi bạn xác nhận khóa mới.",
        "en": "Make a new key for your authenticator app, e.g. on a new phone. "
        "The old one keeps working until you confirm the new one.",
    },
    "account.second_factor.new": {"vi": "Tạo khóa mới", "en": "Make a new key"},
    "account.second_factor.scan": {
        "vi": "Quét mã QR bằng ứng dụng xác thực, hoặc nhập khóa bên dưới.",
        "en": "Scan the QR code with your authenticator app, or type the key below.",
    },
    "account.second_factor.qr_alt": {
        "vi": "Mã QR của khóa xác thực mới",
        "en": "QR code of the new authenticator key",
    },
    "account.second_factor.secret": {"vi": "Khóa", "en": "Key"},
    "account.second_factor.confirm_intro": {
        "vi": "Nhập mã 6 chữ số mà ứng dụng hiển thị cho khóa mới.",
        "en": "Enter the 6-digit code the app shows for the new key.",
    },
    "account.second_factor.code": {"vi": "Mã xác thực", "en": "Verification code"},
    "account.second_factor.confirm": {"vi": "Xác nhận khóa mới", "en": "Confirm the new key"},
    "account.back": {"vi": "Quay lại trang tài khoản", "en": "Back to your account"},
    "account.logout": {"vi": "Đăng xuất", "en": "Log out"},
    "account.done.consent_withdrawn": {
        "vi": "Đã rút lại đồng ý. Dịch vụ không còn nhận thông tin của bạn.",
        "en": "Consent withdrawn. The service no longer receives your data.",
    },
    "account.done.password_changed": {
        "vi": "Đã đổi mật khẩu.",
        "en": "Your password was changed.",
    },
    "account.done.second_factor_rebound": {
        "vi": "Đã gắn thiết bị xác thực mới. Mã của thiết bị cũ không còn dùng được.",
        "en": "The new authenticator is bound. Codes from the old one no longer work.",
    },
    "account.problem.no_consent": {
        "vi": "Không có đồng ý nào với dịch vụ này.",
        "en": "There is no consent for this service.",
    },
    "account.problem.password_mismatch": {
        "vi": "Hai lần nhập mật khẩu mới không giống nhau.",
        "en": "The two new passwords differ.",
    },
    "account.problem.password_long": {
        "vi": "Mật khẩu quá dài.",
        "en": "The password is too long.",
    },
    "account.problem.rebind_level1": {
        "vi": "Chỉ tài khoản mức độ 2 mới có thiết bị xác thực.",
        "en": "Only level-2 accounts have an authenticator.",
    },
    "account.problem.rebind_step_up": {
        "vi": "Vui lòng nhập mã xác thực hiện tại trước.",
        "en": "Please enter a current code first.",
    },
    "account.problem.rebind_expired": {
        "vi": "Khóa mới đã hết hạn. Hãy tạo lại.",
        "en": "The new key has expired. Make another one.",
    },
    "account.problem.rebind_wrong_code": {
        "vi": "Mã không đúng với khóa mới.",
        "en": "That code does not belong to the new key.",
    },
    "account.signed_out.title": {"vi": "Chưa đăng nhập", "en": "Not logged in"},
    "account.signed_out.cancelled": {
        "vi": "Bạn đã hủy đăng nhập.",
        "en": "You cancelled the login.",
    },
    "account.signed_out.no_account": {
        "vi": "Không tìm thấy tài khoản của phiên đăng nhập này.",
        "en": "The account of this session no longer exists.",
    },
    "account.signed_out.log_in": {"vi": "Đăng nhập", "en": "Log in"},
}
