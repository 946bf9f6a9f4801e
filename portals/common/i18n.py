"""Vietnamese (the default) and English texts of the pages every portal shares.

Each portal adds its own catalogue with ``Messages.merged``; a page asks for a text by
key with ``t("key", name=value)``. A key missing in English falls back to Vietnamese, a
key missing everywhere shows the key itself (and the catalogue tests catch it first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"

Catalogue = Mapping[str, Mapping[str, str]]  # locale → key → text

COMMON_MESSAGES: Catalogue = {
    "vi": {
        "lang.switch": "English",
        "nav.home": "Trang chủ",
        "auth.login": "Đăng nhập bằng định danh điện tử",
        "auth.logout": "Đăng xuất",
        "auth.logged_in_as": "Đã đăng nhập: {name}",
        "auth.level": "Mức {level}",
        "auth.logged_out": "Bạn đã đăng xuất khỏi cổng này.",
        "auth.logged_out_idp": (
            "Phiên đăng nhập định danh điện tử của bạn có thể vẫn còn: lần sau cổng sẽ "
            "đăng nhập lại mà không hỏi mật khẩu cho đến khi bạn đóng trình duyệt."
        ),
        "auth.logged_out_everywhere": (
            "Phiên đăng nhập định danh điện tử cũng đã kết thúc; các cổng khác bạn đã dùng "
            "với phiên này đều được thông báo."
        ),
        "auth.step_up": "Xác thực mức 2 (mật khẩu và mã OTP)",
        "identity.title": "Thông tin định danh đã xác thực",
        "identity.name": "Họ và tên",
        "identity.birthdate": "Ngày sinh",
        "identity.gender": "Giới tính",
        "identity.national_id": "Số định danh cá nhân",
        "identity.permanent_address": "Nơi thường trú",
        "identity.current_address": "Nơi ở hiện tại",
        "identity.phone": "Số điện thoại",
        "identity.level": "Mức định danh",
        "identity.auth_time": "Thời điểm xác thực",
        "identity.source": "Nguồn: tài khoản định danh điện tử (natid), không thể sửa tại đây.",
        "gender.male": "Nam",
        "gender.female": "Nữ",
        "footer.demo": (
            "Cổng thử nghiệm của natid: mọi dữ liệu đều là dữ liệu tổng hợp, không phải "
            "của người thật."
        ),
        "error.title": "Không thể hoàn tất",
        "error.back": "Về trang chủ",
        "error.retry": "Thử đăng nhập lại",
        "error.details": "Chi tiết kỹ thuật",
        "error.not_found": "Không tìm thấy trang này.",
        "error.forbidden": "Yêu cầu bị từ chối (phiên làm việc hoặc mã bảo vệ không hợp lệ).",
        "error.login_state": (
            "Phiên đăng nhập đã hết hạn hoặc được bắt đầu ở trình duyệt khác. Vui lòng "
            "đăng nhập lại."
        ),
        "error.issuer_mismatch": (
            "Câu trả lời không đến từ dịch vụ định danh mà cổng này tin cậy; cổng đã từ chối."
        ),
        "error.token_exchange": "Dịch vụ định danh đã từ chối cấp mã truy cập cho cổng.",
        "error.id_token_invalid": (
            "Mã định danh (ID token) nhận được không hợp lệ nên cổng đã từ chối đăng nhập."
        ),
        "error.insufficient_level": (
            "Trang này yêu cầu định danh mức {required}; lần đăng nhập vừa rồi chỉ đạt mức "
            "{achieved}."
        ),
        "error.provider_unavailable": (
            "Không kết nối được dịch vụ định danh điện tử. Vui lòng thử lại sau ít phút."
        ),
        "error.oauth.access_denied": (
            "Dịch vụ định danh không cho phép đăng nhập: bạn đã từ chối chia sẻ thông tin, đã "
            "hủy, hoặc tài khoản chưa đủ điều kiện. Cổng chưa nhận được dữ liệu nào của bạn."
        ),
        "error.level2_hint": (
            "Dịch vụ này cần tài khoản định danh điện tử mức 2 (đăng ký trực tiếp, có ứng dụng "
            "tạo mã OTP)."
        ),
        "error.oauth.login_required": "Bạn cần đăng nhập tại dịch vụ định danh điện tử.",
        "error.oauth.interaction_required": (
            "Dịch vụ định danh cần bạn thao tác thêm (đăng nhập, xác thực hoặc đồng ý)."
        ),
        "error.oauth.consent_required": "Cần sự đồng ý của bạn để chia sẻ thông tin.",
        "error.oauth.invalid_request": "Yêu cầu đăng nhập không hợp lệ.",
        "error.oauth.invalid_scope": "Cổng yêu cầu loại thông tin không được phép.",
        "error.oauth.unauthorized_client": "Cổng này không được phép đăng nhập theo cách này.",
        "error.oauth.server_error": "Dịch vụ định danh gặp lỗi. Vui lòng thử lại sau.",
        "error.oauth.temporarily_unavailable": "Dịch vụ định danh tạm thời quá tải.",
        "error.oauth.other": "Dịch vụ định danh trả về lỗi: {error}.",
    },
    "en": {
        "lang.switch": "Tiếng Việt",
        "nav.home": "Home",
        "auth.login": "Log in with e-ID",
        "auth.logout": "Log out",
        "auth.logged_in_as": "Logged in: {name}",
        "auth.level": "Level {level}",
        "auth.logged_out": "You have logged out of this portal.",
        "auth.logged_out_idp": (
            "Your e-ID session may still be active: the portal will log you in again "
            "without a password until you close the browser."
        ),
        "auth.logged_out_everywhere": (
            "Your e-ID session has ended too; the other portals you used in it were notified."
        ),
        "auth.step_up": "Verify at level 2 (password and one-time code)",
        "identity.title": "Verified identity",
        "identity.name": "Full name",
        "identity.birthdate": "Date of birth",
        "identity.gender": "Gender",
        "identity.national_id": "Personal ID number",
        "identity.permanent_address": "Permanent residence",
        "identity.current_address": "Current residence",
        "identity.phone": "Phone number",
        "identity.level": "e-ID level",
        "identity.auth_time": "Authenticated at",
        "identity.source": "Source: your e-ID account (natid); it cannot be edited here.",
        "gender.male": "Male",
        "gender.female": "Female",
        "footer.demo": "A natid demo portal: all data is synthetic, no real person's.",
        "error.title": "Could not complete",
        "error.back": "Back to the home page",
        "error.retry": "Log in again",
        "error.details": "Technical details",
        "error.not_found": "This page does not exist.",
        "error.forbidden": "Request refused (session or protection token not valid).",
        "error.login_state": (
            "The login expired or was started in another browser. Please log in again."
        ),
        "error.issuer_mismatch": (
            "The answer did not come from the identity service this portal trusts; refused."
        ),
        "error.token_exchange": "The identity service refused to issue tokens to the portal.",
        "error.id_token_invalid": "The ID token received was not valid; the login was refused.",
        "error.insufficient_level": (
            "This page needs e-ID level {required}; the login only reached level {achieved}."
        ),
        "error.provider_unavailable": (
            "The e-ID service cannot be reached. Please try again in a few minutes."
        ),
        "error.oauth.access_denied": (
            "The e-ID service did not let you log in: you declined to share your data, "
            "cancelled, or your account does not qualify. The portal received nothing about you."
        ),
        "error.level2_hint": (
            "This service needs a level-2 e-ID account (registered in person, with a "
            "one-time-code app)."
        ),
        "error.oauth.login_required": "You need to log in at the e-ID service.",
        "error.oauth.interaction_required": (
            "The e-ID service needs you to act (log in, verify or consent)."
        ),
        "error.oauth.consent_required": "Your consent is needed to share your data.",
        "error.oauth.invalid_request": "The login request was not valid.",
        "error.oauth.invalid_scope": "The portal asked for data it may not receive.",
        "error.oauth.unauthorized_client": "This portal may not log citizens in this way.",
        "error.oauth.server_error": "The e-ID service failed. Please try again later.",
        "error.oauth.temporarily_unavailable": "The e-ID service is overloaded for now.",
        "error.oauth.other": "The e-ID service answered with an error: {error}.",
    },
}


@dataclass(frozen=True, slots=True)
class Messages:
    catalogue: Catalogue

    @classmethod
    def merged(cls, *catalogues: Catalogue) -> Messages:
        merged: dict[str, dict[str, str]] = {locale: {} for locale in LOCALES}
        for catalogue in catalogues:
            for locale, texts in catalogue.items():
                merged.setdefault(locale, {}).update(texts)
        return cls(merged)

    def translator(self, locale: str) -> Translator:
        return Translator(self, locale if locale in LOCALES else DEFAULT_LOCALE)

    def text(self, locale: str, key: str) -> str:
        texts = self.catalogue.get(locale, {})
        if key in texts:
            return texts[key]
        return self.catalogue.get(DEFAULT_LOCALE, {}).get(key, key)

    def has(self, key: str) -> bool:
        return any(key in texts for texts in self.catalogue.values())


@dataclass(frozen=True, slots=True)
class Translator:
    messages: Messages
    locale: str

    def __call__(self, key: str, **values: Any) -> str:
        text = self.messages.text(self.locale, key)
        return text.format(**values) if values else text


def choose_locale(requested: str | None, remembered: str | None) -> str:
    for candidate in (requested, remembered):
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE
