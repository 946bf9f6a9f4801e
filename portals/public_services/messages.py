"""Texts of the public-service portal, Vietnamese first, English second."""

from __future__ import annotations

from portals.common.i18n import COMMON_MESSAGES, Catalogue

_VI = {
    "portal.title": "Cổng Dịch vụ công (demo)",
    "nav.services": "Dịch vụ công",
    "nav.applications": "Hồ sơ của tôi",
    "home.heading": "Dịch vụ công trực tuyến với tài khoản định danh điện tử",
    "home.intro": (
        "Đăng nhập bằng tài khoản định danh điện tử mức 1 để xem danh mục dịch vụ và hồ sơ; "
        "nộp hồ sơ cần định danh mức 2 (mật khẩu và mã OTP)."
    ),
    "home.browse": "Xem danh mục dịch vụ",
    "catalogue.heading": "Danh mục dịch vụ công thiết yếu",
    "catalogue.online": "Nộp trực tuyến",
    "catalogue.offline": "Chỉ tiếp nhận trực tiếp",
    "service.agency": "Cơ quan thực hiện",
    "service.time": "Thời hạn giải quyết",
    "service.fee": "Lệ phí",
    "service.apply": "Nộp hồ sơ trực tuyến",
    "service.offline_note": (
        "Dịch vụ này chưa nộp trực tuyến được trên cổng thử nghiệm; vui lòng đến cơ quan thực hiện."
    ),
    "service.criminal-record-certificate.name": "Cấp Phiếu lý lịch tư pháp",
    "service.criminal-record-certificate.agency": "Sở Tư pháp nơi thường trú",
    "service.criminal-record-certificate.summary": (
        "Phiếu số 1 hoặc số 2 xác nhận có hay không có án tích. Thông tin cá nhân được điền "
        "sẵn từ tài khoản định danh điện tử."
    ),
    "service.criminal-record-certificate.time": "10 ngày",
    "service.criminal-record-certificate.fee": "200.000 đồng",
    "service.birth-registration.name": "Đăng ký khai sinh",
    "service.birth-registration.agency": "Ủy ban nhân dân cấp xã",
    "service.birth-registration.summary": "Đăng ký khai sinh cho trẻ em sinh ra tại Việt Nam.",
    "service.birth-registration.time": "Trong ngày",
    "service.birth-registration.fee": "Miễn lệ phí khi đăng ký đúng hạn",
    "service.permanent-residence.name": "Đăng ký thường trú",
    "service.permanent-residence.agency": "Công an cấp xã",
    "service.permanent-residence.summary": "Đăng ký nơi thường trú mới.",
    "service.permanent-residence.time": "7 ngày làm việc",
    "service.permanent-residence.fee": "Theo quy định của địa phương",
    "service.stay-notification.name": "Thông báo lưu trú",
    "service.stay-notification.agency": "Công an cấp xã",
    "service.stay-notification.summary": "Thông báo việc lưu trú của người đến ở tại nơi khác.",
    "service.stay-notification.time": "Ngay khi tiếp nhận",
    "service.stay-notification.fee": "Không thu phí",
    "service.ordinary-passport.name": "Cấp hộ chiếu phổ thông",
    "service.ordinary-passport.agency": "Cơ quan Quản lý xuất nhập cảnh",
    "service.ordinary-passport.summary": "Cấp hộ chiếu phổ thông cho công dân Việt Nam.",
    "service.ordinary-passport.time": "8 ngày làm việc",
    "service.ordinary-passport.fee": "Theo biểu phí hiện hành",
    "apply.heading": "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp",
    "apply.prefilled": "Thông tin người yêu cầu (từ định danh điện tử)",
    "apply.request": "Nội dung yêu cầu",
    "apply.certificate_type": "Loại phiếu",
    "apply.type1": "Phiếu số 1",
    "apply.type2": "Phiếu số 2 (ghi đầy đủ án tích, kể cả án tích đã xóa)",
    "apply.purpose": "Mục đích sử dụng",
    "apply.copies": "Số lượng phiếu",
    "apply.parents": "Cha, mẹ (bắt buộc với Phiếu số 2)",
    "apply.father_name": "Họ tên cha",
    "apply.mother_name": "Họ tên mẹ",
    "apply.ban_statement": (
        "Yêu cầu xác nhận về việc có hay không bị cấm đảm nhiệm chức vụ, thành lập, quản lý "
        "doanh nghiệp (chỉ với Phiếu số 1)"
    ),
    "apply.delivery": "Hình thức nhận kết quả",
    "apply.delivery_counter": "Nhận trực tiếp tại cơ quan",
    "apply.delivery_post": "Nhận qua bưu chính",
    "apply.delivery_address": "Địa chỉ nhận qua bưu chính",
    "apply.email": "Thư điện tử (không bắt buộc)",
    "apply.submit": "Nộp hồ sơ",
    "apply.level2_needed": (
        "Bạn đang đăng nhập mức {level}. Xem trước tờ khai được, nhưng để nộp hồ sơ cần "
        "xác thực định danh mức 2."
    ),
    "apply.missing_claims": (
        "Tài khoản định danh chưa cung cấp đủ họ tên, ngày sinh và số định danh cá nhân nên "
        "chưa thể nộp hồ sơ."
    ),
    "apply.fix_errors": "Vui lòng sửa các mục được đánh dấu.",
    "form.error.certificate_type": "Chọn Phiếu số 1 hoặc số 2.",
    "form.error.purpose": "Ghi mục đích sử dụng (3 đến 200 ký tự).",
    "form.error.copies": "Số lượng từ 1 đến 10.",
    "form.error.parent_name": "Bắt buộc với Phiếu số 2 (2 đến 100 ký tự).",
    "form.error.delivery_method": "Chọn hình thức nhận kết quả.",
    "form.error.delivery_address": "Ghi địa chỉ nhận (10 đến 300 ký tự).",
    "form.error.email": "Thư điện tử không hợp lệ.",
    "applications.heading": "Hồ sơ của tôi",
    "applications.none": "Bạn chưa nộp hồ sơ nào.",
    "applications.reference": "Mã hồ sơ",
    "applications.service": "Dịch vụ",
    "applications.submitted_at": "Ngày nộp",
    "applications.expected_by": "Ngày hẹn trả",
    "applications.status": "Trạng thái",
    "application.heading": "Hồ sơ {reference}",
    "application.submitted": "Đã nộp hồ sơ thành công. Mã hồ sơ của bạn: {reference}.",
    "application.level": "Mức định danh khi nộp",
    "status.received": "Đã tiếp nhận",
}

_EN = {
    "portal.title": "Public Service Portal (demo)",
    "nav.services": "Public services",
    "nav.applications": "My applications",
    "home.heading": "Online public services with your e-ID",
    "home.intro": (
        "Log in with your e-ID at level 1 to see the services and your applications; "
        "submitting an application needs level 2 (password and one-time code)."
    ),
    "home.browse": "See the services",
    "catalogue.heading": "Essential public services",
    "catalogue.online": "Apply online",
    "catalogue.offline": "In person only",
    "service.agency": "Handled by",
    "service.time": "Processing time",
    "service.fee": "Fee",
    "service.apply": "Apply online",
    "service.offline_note": (
        "This service cannot be applied for online in the demo portal; please visit the agency."
    ),
    "service.criminal-record-certificate.name": "Criminal record certificate",
    "service.criminal-record-certificate.agency": "Department of Justice of your residence",
    "service.criminal-record-certificate.summary": (
        "Certificate no. 1 or no. 2 stating whether you have a criminal record. Your personal "
        "details are filled in from your e-ID."
    ),
    "service.criminal-record-certificate.time": "10 days",
    "service.criminal-record-certificate.fee": "VND 200,000",
    "service.birth-registration.name": "Birth registration",
    "service.birth-registration.agency": "Commune People's Committee",
    "service.birth-registration.summary": "Register the birth of a child born in Vietnam.",
    "service.birth-registration.time": "The same day",
    "service.birth-registration.fee": "Free when registered on time",
    "service.permanent-residence.name": "Permanent residence registration",
    "service.permanent-residence.agency": "Commune police",
    "service.permanent-residence.summary": "Register a new permanent residence.",
    "service.permanent-residence.time": "7 working days",
    "service.permanent-residence.fee": "Set by the province",
    "service.stay-notification.name": "Stay notification",
    "service.stay-notification.agency": "Commune police",
    "service.stay-notification.summary": "Notify a stay away from your registered residence.",
    "service.stay-notification.time": "On receipt",
    "service.stay-notification.fee": "Free",
    "service.ordinary-passport.name": "Ordinary passport",
    "service.ordinary-passport.agency": "Immigration authority",
    "service.ordinary-passport.summary": "Issue an ordinary passport to a Vietnamese citizen.",
    "service.ordinary-passport.time": "8 working days",
    "service.ordinary-passport.fee": "Current fee schedule",
    "apply.heading": "Application for a criminal record certificate",
    "apply.prefilled": "Applicant (from your e-ID)",
    "apply.request": "Request",
    "apply.certificate_type": "Certificate",
    "apply.type1": "Certificate no. 1",
    "apply.type2": "Certificate no. 2 (full record, including expunged convictions)",
    "apply.purpose": "Purpose",
    "apply.copies": "Number of copies",
    "apply.parents": "Parents (required for certificate no. 2)",
    "apply.father_name": "Father's full name",
    "apply.mother_name": "Mother's full name",
    "apply.ban_statement": (
        "Also state whether I am banned from holding posts or founding and managing "
        "enterprises (certificate no. 1 only)"
    ),
    "apply.delivery": "Receive the result",
    "apply.delivery_counter": "In person at the agency",
    "apply.delivery_post": "By post",
    "apply.delivery_address": "Postal address",
    "apply.email": "E-mail (optional)",
    "apply.submit": "Submit the application",
    "apply.level2_needed": (
        "You are logged in at level {level}. You can preview the form, but submitting it "
        "needs e-ID level 2."
    ),
    "apply.missing_claims": (
        "Your e-ID did not provide your name, birth date and personal ID number, so the "
        "application cannot be submitted."
    ),
    "apply.fix_errors": "Please correct the marked fields.",
    "form.error.certificate_type": "Choose certificate no. 1 or no. 2.",
    "form.error.purpose": "State the purpose (3 to 200 characters).",
    "form.error.copies": "Between 1 and 10 copies.",
    "form.error.parent_name": "Required for certificate no. 2 (2 to 100 characters).",
    "form.error.delivery_method": "Choose how to receive the result.",
    "form.error.delivery_address": "Give the postal address (10 to 300 characters).",
    "form.error.email": "Not a valid e-mail address.",
    "applications.heading": "My applications",
    "applications.none": "You have not submitted any application.",
    "applications.reference": "Reference",
    "applications.service": "Service",
    "applications.submitted_at": "Submitted",
    "applications.expected_by": "Expected by",
    "applications.status": "Status",
    "application.heading": "Application {reference}",
    "application.submitted": "Application submitted. Your reference: {reference}.",
    "application.level": "e-ID level at submission",
    "status.received": "Received",
}

MESSAGES: Catalogue = {
    locale: {**COMMON_MESSAGES[locale], **texts} for locale, texts in (("vi", _VI), ("en", _EN))
}
