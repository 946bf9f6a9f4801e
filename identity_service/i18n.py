"""Texts of the provider's pages in Vietnamese (the default) and English.

``translate(locale, key, **values)`` looks a key up; pages get it bound to their locale
as ``t``. Account errors carry their own texts (``identity_service.accounts.errors``);
everything else the citizen reads is here, including what each claim is called on the
consent page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from identity_service.i18n_account import ACCOUNT_MESSAGES
from identity_service.i18n_debugger import DEBUGGER_MESSAGES
from identity_service.i18n_registration import REGISTRATION_MESSAGES

SUPPORTED_LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"

MESSAGES: dict[str, dict[str, str]] = {
    "site.title": {"vi": "Định danh điện tử natid", "en": "natid electronic identification"},
    "site.simulator": {
        "vi": "Hệ thống mô phỏng — chỉ có dữ liệu tổng hợp, không phải dữ liệu thật.",
        "en": "A simulator — synthetic data only, no real person's data.",
    },
    "language.switch": {"vi": "English", "en": "Tiếng Việt"},
    "login.title": {"vi": "Đăng nhập", "en": "Log in"},
    "login.intro": {
        "vi": "{client} yêu cầu bạn đăng nhập bằng tài khoản định danh điện tử.",
        "en": "{client} asks you to log in with your e-ID account.",
    },
    "login.level2": {
        "vi": "Dịch vụ này yêu cầu tài khoản định danh điện tử mức độ 2.",
        "en": "This service requires a level-2 e-ID account.",
    },
    "login.id_number": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "login.password": {"vi": "Mật khẩu", "en": "Password"},
    "login.submit": {"vi": "Đăng nhập", "en": "Log in"},
    "cancel": {"vi": "Hủy và quay lại", "en": "Cancel and go back"},
    "second_factor.title": {"vi": "Xác thực hai yếu tố", "en": "Two-factor verification"},
    "second_factor.intro": {
        "vi": "Nhập mã gồm 6 chữ số trong ứng dụng xác thực của bạn.",
        "en": "Enter the 6-digit code from your authenticator app.",
    },
    "second_factor.step_up": {
        "vi": "{client} yêu cầu mức độ bảo đảm cao hơn (mức độ 2).",
        "en": "{client} requires a higher level of assurance (level 2).",
    },
    "second_factor.code": {"vi": "Mã xác thực", "en": "Verification code"},
    "second_factor.submit": {"vi": "Xác nhận", "en": "Verify"},
    "consent.title": {"vi": "Chia sẻ thông tin", "en": "Share your information"},
    "consent.intro": {
        "vi": "{client} sẽ nhận các thông tin cá nhân sau của bạn:",
        "en": "{client} will receive the following personal data about you:",
    },
    "consent.remembered": {
        "vi": "Lựa chọn của bạn được ghi nhớ cho dịch vụ này.",
        "en": "Your choice is remembered for this service.",
    },
    "consent.approve": {"vi": "Đồng ý", "en": "Allow"},
    "consent.deny": {"vi": "Từ chối", "en": "Deny"},
    "scope.openid": {
        "vi": "Mã định danh riêng cho dịch vụ này (không phải số định danh cá nhân)",
        "en": "An identifier for you specific to this service (not your ID number)",
    },
    "scope.profile": {"vi": "Thông tin cơ bản", "en": "Basic profile"},
    "scope.national_id": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "scope.address": {"vi": "Nơi cư trú", "en": "Residence"},
    "scope.phone": {"vi": "Số điện thoại", "en": "Phone number"},
    "scope.household": {"vi": "Thông tin hộ gia đình", "en": "Household"},
    "scope.offline_access": {
        "vi": "Duy trì quyền truy cập cả khi bạn không trực tuyến (bạn có thể thu hồi)",
        "en": "Keep access while you are away (you can withdraw it)",
    },
    "claim.sub": {"vi": "Mã định danh theo dịch vụ", "en": "Service-specific identifier"},
    "claim.name": {"vi": "Họ và tên", "en": "Full name"},
    "claim.family_name": {"vi": "Họ", "en": "Family name"},
    "claim.given_name": {"vi": "Tên", "en": "Given name"},
    "claim.middle_name": {"vi": "Tên đệm", "en": "Middle name"},
    "claim.birthdate": {"vi": "Ngày sinh", "en": "Date of birth"},
    "claim.gender": {"vi": "Giới tính", "en": "Gender"},
    "claim.national_id": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "claim.address": {"vi": "Nơi thường trú", "en": "Permanent residence"},
    "claim.current_residence": {"vi": "Nơi ở hiện tại", "en": "Current residence"},
    "claim.phone_number": {"vi": "Số điện thoại di động", "en": "Mobile phone number"},
    "claim.phone_number_verified": {
        "vi": "Số điện thoại đã được xác minh hay chưa",
        "en": "Whether the phone number is verified",
    },
    "claim.household": {
        "vi": "Số hộ khẩu, quan hệ với chủ hộ, số thành viên (không gồm thông tin người khác)",
        "en": "Household number, relation to the head, member count (no one else's data)",
    },
    "consent.none": {"vi": "(không có dữ liệu)", "en": "(no data)"},
    "value.gender.male": {"vi": "Nam", "en": "Male"},
    "value.gender.female": {"vi": "Nữ", "en": "Female"},
    "value.yes": {"vi": "Có", "en": "Yes"},
    "value.no": {"vi": "Không", "en": "No"},
    "value.relation.head": {"vi": "Chủ hộ", "en": "Head of household"},
    "value.relation.spouse": {"vi": "Vợ/chồng", "en": "Spouse"},
    "value.relation.child": {"vi": "Con", "en": "Child"},
    "value.relation.parent": {"vi": "Cha/mẹ", "en": "Parent"},
    "value.household": {
        "vi": "Hộ số {id}, {relation}, {count} thành viên",
        "en": "Household {id}, {relation}, {count} members",
    },
    "logout.title": {"vi": "Đăng xuất", "en": "Log out"},
    "logout.asked_by": {
        "vi": "{client} yêu cầu đăng xuất bạn khỏi tài khoản định danh điện tử.",
        "en": "{client} asks to log you out of your e-ID.",
    },
    "logout.question": {
        "vi": "Bạn có muốn đăng xuất khỏi tài khoản định danh điện tử trên trình duyệt này "
        "không? Bạn sẽ được đăng xuất khỏi mọi dịch vụ đã dùng phiên đăng nhập này.",
        "en": "Do you want to log out of your e-ID in this browser? You will be logged out "
        "of every service that used this login.",
    },
    "logout.submit": {"vi": "Đăng xuất", "en": "Log out"},
    "logout.stay": {"vi": "Không, giữ đăng nhập", "en": "No, stay logged in"},
    "logout.done": {
        "vi": "Bạn đã đăng xuất khỏi tài khoản định danh điện tử.",
        "en": "You have logged out of your e-ID.",
    },
    "logout.close": {"vi": "Bạn có thể đóng trang này.", "en": "You can close this page."},
    "logout.kept": {"vi": "Bạn vẫn đang đăng nhập.", "en": "You are still logged in."},
    "error.logout_expired": {
        "vi": "Yêu cầu đăng xuất này đã hết hạn hoặc không dành cho phiên đăng nhập của bạn.",
        "en": "This logout request has expired or is not for your login session.",
    },
    "error.title": {"vi": "Không thể tiếp tục", "en": "Cannot continue"},
    "error.detail": {"vi": "Chi tiết kỹ thuật", "en": "Technical detail"},
    "error.back": {
        "vi": "Hãy quay lại trang của dịch vụ và thử lại.",
        "en": "Go back to the service's site and try again.",
    },
    "error.missing_client": {
        "vi": "Yêu cầu đăng nhập không cho biết dịch vụ nào gửi nó.",
        "en": "The login request does not say which service sent it.",
    },
    "error.unknown_client": {
        "vi": "Dịch vụ gửi yêu cầu đăng nhập này chưa được đăng ký.",
        "en": "The service that sent this login request is not registered.",
    },
    "error.missing_redirect_uri": {
        "vi": "Yêu cầu đăng nhập thiếu địa chỉ trả kết quả.",
        "en": "The login request lacks the address to return to.",
    },
    "error.redirect_uri_mismatch": {
        "vi": "Địa chỉ trả kết quả không khớp với địa chỉ đã đăng ký của dịch vụ. "
        "Vì an toàn, bạn không được chuyển tiếp.",
        "en": "The return address does not match the service's registration. "
        "For your safety you are not being redirected.",
    },
    "error.request_uri_invalid": {
        "vi": "Yêu cầu đăng nhập đã gửi trước đã hết hạn hoặc đã được sử dụng. "
        "Hãy bắt đầu lại từ trang của dịch vụ.",
        "en": "The pushed login request has expired or was already used. "
        "Start again from the service's site.",
    },
    "error.invalid_request_object": {
        "vi": "Yêu cầu đăng nhập đã ký của dịch vụ không hợp lệ, và địa chỉ trả kết quả "
        "không thể được tin cậy.",
        "en": "The service's signed login request is not valid, and its return address "
        "cannot be trusted.",
    },
    "error.repeated_parameter": {
        "vi": "Yêu cầu đăng nhập có một tham số bị lặp lại.",
        "en": "The login request repeats a parameter.",
    },
    "error.expired": {
        "vi": "Phiên đăng nhập đã hết hạn hoặc đã được sử dụng.",
        "en": "This login page has expired or was already used.",
    },
    "error.wrong_browser": {
        "vi": "Trang đăng nhập này được mở trong một trình duyệt khác.",
        "en": "This login page was opened in another browser.",
    },
    "error.csrf": {
        "vi": "Biểu mẫu không hợp lệ (có thể đã bị giả mạo).",
        "en": "The form is not valid (it may have been forged).",
    },
    "error.wrong_step": {
        "vi": "Bước đăng nhập này không còn hợp lệ.",
        "en": "This login step is no longer valid.",
    },
    "error.unavailable": {
        "vi": "Dịch vụ tạm thời gián đoạn. Vui lòng thử lại sau ít phút.",
        "en": "The service is temporarily unavailable. Please try again in a moment.",
    },
    "error.internal": {
        "vi": "Đã xảy ra lỗi không mong muốn.",
        "en": "Something unexpected went wrong.",
    },
    **ACCOUNT_MESSAGES,
    **DEBUGGER_MESSAGES,
    **REGISTRATION_MESSAGES,
}


def translate(locale: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``locale`` (falling back to Vietnamese, then the key)."""
    texts = MESSAGES.get(key)
    if texts is None:
        return key
    text = texts.get(locale) or texts[DEFAULT_LOCALE]
    return text.format(**values) if values else text


def translator(locale: str) -> Callable[..., str]:
    """``translate`` bound to one locale, for templates."""

    def t(key: str, **values: object) -> str:
        return translate(locale, key, **values)

    return t


def choose_locale(*candidates: str | None) -> str:
    """The first supported locale among ``candidates``, else Vietnamese."""
    for candidate in candidates:
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return DEFAULT_LOCALE


def other_locale(locale: str) -> str:
    return "en" if locale == "vi" else "vi"


def missing_keys(keys: Iterable[str]) -> list[str]:
    """Keys without a text in every locale (used by tests to keep the tables complete)."""
    return [key for key in keys if set(MESSAGES.get(key, {})) != set(SUPPORTED_LOCALES)]
