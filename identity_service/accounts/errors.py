"""Errors of the account service, each with a stable ``code`` the UI translates.

::

    AccountError
    ├── AuthenticationError          a login step was refused
    │   ├── LoginFailedError         wrong ID number, password or code; locked or deceased
    │   │                            citizen: one message for all (no enumeration)
    │   ├── AccountLockedError       too many failures: wait ``retry_after`` seconds
    │   └── RateLimitedError         too many attempts from this client IP (HTTP 429)
    ├── RegistrationError            ``code`` says why (mismatch, too_young, ...)
    ├── PasswordPolicyError          ``code`` = weak_password:<reason>
    ├── AccountNotFoundError         officer commands on an ID number with no account
    ├── AccountInactiveError         officer commands on a locked or deceased citizen
    └── DemoSeedError                demo citizens missing from the population

``MESSAGES`` holds the Vietnamese and English text for every code; ``str(error)`` is the
English text.
"""

from __future__ import annotations

DEFAULT_LOCALE = "vi"

MESSAGES: dict[str, dict[str, str]] = {
    "login_failed": {
        "en": "The ID number, password or code is not correct.",
        "vi": "Số định danh, mật khẩu hoặc mã xác thực không đúng.",
    },
    "account_locked": {
        "en": "Too many failed attempts. Try again in {retry_after} seconds.",
        "vi": "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {retry_after} giây.",
    },
    "rate_limited": {
        "en": "Too many attempts from this network. Try again in {retry_after} seconds.",
        "vi": "Quá nhiều lượt thử từ mạng này. Vui lòng thử lại sau {retry_after} giây.",
    },
    "invalid_id_number": {
        "en": "A personal ID number has 12 digits.",
        "vi": "Số định danh cá nhân gồm 12 chữ số.",
    },
    "mismatch": {
        "en": "The details do not match the national population database.",
        "vi": "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư.",
    },
    "too_young": {
        "en": "Citizens must be at least {minimum_age} years old to register.",
        "vi": "Công dân phải từ đủ {minimum_age} tuổi trở lên để đăng ký.",
    },
    "deceased": {
        "en": "This citizen is recorded as deceased; no account can be created.",
        "vi": "Công dân này đã được ghi nhận là đã mất; không thể tạo tài khoản.",
    },
    "already_registered": {
        "en": "This citizen already has an e-ID account.",
        "vi": "Công dân này đã có tài khoản định danh điện tử.",
    },
    "weak_password:too_short": {
        "en": "The password must have at least {minimum_length} characters.",
        "vi": "Mật khẩu phải có ít nhất {minimum_length} ký tự.",
    },
    "weak_password:too_long": {
        "en": "The password must have at most {maximum_length} characters.",
        "vi": "Mật khẩu không được dài quá {maximum_length} ký tự.",
    },
    "weak_password:common": {
        "en": "This password is too common and easy to guess.",
        "vi": "Mật khẩu này quá phổ biến, dễ bị đoán.",
    },
    "weak_password:id_number": {
        "en": "The password must not contain your personal ID number.",
        "vi": "Mật khẩu không được chứa số định danh cá nhân của bạn.",
    },
    "weak_password:birth_date": {
        "en": "The password must not contain your date of birth.",
        "vi": "Mật khẩu không được chứa ngày sinh của bạn.",
    },
    "account_not_found": {
        "en": "No e-ID account exists for this ID number.",
        "vi": "Không có tài khoản định danh điện tử cho số định danh này.",
    },
    "account_inactive": {
        "en": "The account is not active.",
        "vi": "Tài khoản không ở trạng thái hoạt động.",
    },
    "demo_citizen_missing": {
        "en": "A demo citizen is missing from the population database; seed it first.",
        "vi": "Thiếu công dân mẫu trong cơ sở dữ liệu dân cư; hãy tạo dữ liệu trước.",
    },
}


def message_for(code: str, locale: str = DEFAULT_LOCALE, **values: object) -> str:
    """The text for ``code`` in ``locale`` (vi or en), with ``values`` filled in."""
    texts = MESSAGES[code]
    return texts.get(locale, texts["en"]).format(**values)


class AccountError(Exception):
    """Base of the account service's errors; ``code`` keys ``MESSAGES``."""

    code: str = "account_error"

    def __init__(self, code: str | None = None, **values: object) -> None:
        if code is not None:
            self.code = code
        self.values = values
        super().__init__(self.message("en"))

    def message(self, locale: str = DEFAULT_LOCALE) -> str:
        return message_for(self.code, locale, **self.values)


class AuthenticationError(AccountError):
    retry_after: int | None = None


class LoginFailedError(AuthenticationError):
    code = "login_failed"

    def __init__(self) -> None:
        super().__init__()


class AccountLockedError(AuthenticationError):
    code = "account_locked"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(retry_after=retry_after)


class RateLimitedError(AuthenticationError):
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(retry_after=retry_after)


class RegistrationError(AccountError):
    """``code``: invalid_id_number, mismatch, too_young, deceased, already_registered,
    weak_password:<reason>."""


class PasswordPolicyError(AccountError):
    """``reason`` is the part after ``weak_password:`` (too_short, common, ...)."""

    def __init__(self, reason: str, **values: object) -> None:
        self.reason = reason
        super().__init__(f"weak_password:{reason}", **values)


class AccountNotFoundError(AccountError):
    code = "account_not_found"

    def __init__(self) -> None:
        super().__init__()


class AccountInactiveError(AccountError):
    code = "account_inactive"

    def __init__(self) -> None:
        super().__init__()


class DemoSeedError(AccountError):
    code = "demo_citizen_missing"

    def __init__(self) -> None:
        super().__init__()
