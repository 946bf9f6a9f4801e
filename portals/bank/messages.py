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
    "status.kyc_pending": "Chờ đối chiếu thông tin",
    "status.verified": "Đã xác minh, tài khoản đang được mở",
    "status.rejected": "Bị từ chối",
    "open.otp": "Mã OTP hiện tại từ ứng dụng định danh (không bắt buộc)",
    "open.otp_hint": (
        "Nếu nhập, kết quả đối chiếu với Cơ sở dữ liệu quốc gia về dân cư đạt mức 2: có "
        "xác nhận của chính bạn."
    ),
    "open.error.otp": "Mã OTP gồm đúng 6 chữ số (hoặc để trống).",
    "kyc.heading": "Đối chiếu thông tin với Cơ sở dữ liệu quốc gia về dân cư (e-KYC)",
    "kyc.intro": (
        "Hệ thống của ngân hàng gửi số định danh, họ tên, ngày sinh và giới tính trong yêu "
        "cầu tới dịch vụ e-KYC của natid và nhận lại câu trả lời có chữ ký số."
    ),
    "kyc.verified": "Thông tin đã được xác minh khớp với Cơ sở dữ liệu quốc gia về dân cư.",
    "kyc.rejected": (
        "Yêu cầu bị từ chối: thông tin trong yêu cầu không khớp với Cơ sở dữ liệu quốc gia "
        "về dân cư. Ngân hàng không thể mở tài khoản trực tuyến; vui lòng đến chi nhánh "
        "với thẻ căn cước."
    ),
    "kyc.mismatched": "Không khớp:",
    "kyc.attribute.full_name": "Họ và tên",
    "kyc.attribute.birth_date": "Ngày sinh",
    "kyc.attribute.gender": "Giới tính",
    "kyc.flag.yes": "Khớp",
    "kyc.flag.no": "Không khớp",
    "kyc.result": "Kết quả",
    "kyc.outcome.match": "Khớp",
    "kyc.outcome.no_match": "Không khớp",
    "kyc.outcome.unavailable": (
        "Chưa đối chiếu được: dịch vụ e-KYC tạm thời không trả lời. Bạn có thể thử lại."
    ),
    "kyc.outcome.refused": "Dịch vụ e-KYC từ chối yêu cầu đối chiếu của ngân hàng.",
    "kyc.outcome.untrusted": (
        "Câu trả lời nhận được không qua được kiểm tra chữ ký số nên ngân hàng không dùng nó."
    ),
    "kyc.level": "Mức bảo đảm của câu trả lời",
    "kyc.with_otp": "có mã OTP của bạn",
    "kyc.transaction": "Mã giao dịch",
    "kyc.issued_at": "Thời điểm trả lời",
    "kyc.issuer": "Bên ký",
    "kyc.audience": "Gửi cho",
    "kyc.signature_checked": (
        "Chữ ký đã được kiểm tra bằng khóa công khai (JWKS) của natid; câu trả lời được lưu "
        "nguyên văn làm bằng chứng."
    ),
    "kyc.raw": "Câu trả lời có chữ ký (JWS) và nội dung đã giải mã",
    "kyc.retry": "Đối chiếu lại",
    "kyc.earlier": "Các lần đối chiếu trước",
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
    "status.kyc_pending": "Waiting for the identity check",
    "status.verified": "Verified, account being opened",
    "status.rejected": "Rejected",
    "open.otp": "Your current one-time code from the e-ID app (optional)",
    "open.otp_hint": (
        "With it, the check against the national population register is a level-2 answer: "
        "confirmed by you."
    ),
    "open.error.otp": "The one-time code has exactly 6 digits (or leave it empty).",
    "kyc.heading": "Check against the national population register (e-KYC)",
    "kyc.intro": (
        "The bank's system sends the ID number, full name, birth date and gender on the "
        "application to natid's e-KYC service and receives a digitally signed answer."
    ),
    "kyc.verified": "The details were verified against the national population register.",
    "kyc.rejected": (
        "Application rejected: its details do not match the national population register. "
        "The bank cannot open the account online; please visit a branch with your ID card."
    ),
    "kyc.mismatched": "Not matching:",
    "kyc.attribute.full_name": "Full name",
    "kyc.attribute.birth_date": "Date of birth",
    "kyc.attribute.gender": "Gender",
    "kyc.flag.yes": "Matches",
    "kyc.flag.no": "Does not match",
    "kyc.result": "Result",
    "kyc.outcome.match": "Match",
    "kyc.outcome.no_match": "No match",
    "kyc.outcome.unavailable": (
        "Not checked yet: the e-KYC service did not answer for now. You can try again."
    ),
    "kyc.outcome.refused": "The e-KYC service refused the bank's verification request.",
    "kyc.outcome.untrusted": (
        "The answer received failed the signature checks, so the bank did not use it."
    ),
    "kyc.level": "Assurance level of the answer",
    "kyc.with_otp": "with your one-time code",
    "kyc.transaction": "Transaction",
    "kyc.issued_at": "Answered at",
    "kyc.issuer": "Signed by",
    "kyc.audience": "Issued to",
    "kyc.signature_checked": (
        "The signature was checked with natid's public keys (JWKS); the answer is kept "
        "verbatim as evidence."
    ),
    "kyc.raw": "The signed answer (JWS) and its decoded claims",
    "kyc.retry": "Check again",
    "kyc.earlier": "Earlier checks",
}

MESSAGES: Catalogue = {
    locale: {**COMMON_MESSAGES[locale], **texts} for locale, texts in (("vi", _VI), ("en", _EN))
}
