"""Texts of the token debugger page (``/debugger``) in Vietnamese and English.

Merged into ``identity_service.i18n.MESSAGES``. Every finding of ``token_checks`` has a
``debugger.finding.<code>`` text here (the page fills in its values, durations in words).
"""

from __future__ import annotations

DEBUGGER_MESSAGES: dict[str, dict[str, str]] = {
    "nav.debugger": {"vi": "Kiểm tra token", "en": "Token debugger"},
    "debugger.title": {"vi": "Kiểm tra token (cho bên tích hợp)", "en": "Token debugger"},
    "debugger.intro": {
        "vi": "Dán một token do natid cấp (ID token, access token, logout token, kết quả "
        "e-KYC), một client assertion hoặc một DPoP proof của cổng dịch vụ: trang này giải mã "
        "và cho biết vì sao token được chấp nhận hay bị từ chối.",
        "en": "Paste a token natid issued (ID token, access token, logout token, e-KYC "
        "answer), or a portal's client assertion or DPoP proof: this page decodes it and "
        "tells you why it would be accepted or rejected.",
    },
    "debugger.privacy": {
        "vi": "Token không được lưu lại hay ghi nhật ký. Chỉ dùng với token thử nghiệm.",
        "en": "The token is neither stored nor logged. Use test tokens only.",
    },
    "debugger.token_label": {"vi": "Token", "en": "Token"},
    "debugger.audience_label": {
        "vi": "client_id của bạn (không bắt buộc)",
        "en": "Your client_id (optional)",
    },
    "debugger.submit": {"vi": "Kiểm tra", "en": "Inspect"},
    "debugger.accepted": {
        "vi": "Token hợp lệ: chữ ký, thời hạn, bên phát hành và đối tượng nhận đều đúng.",
        "en": "Valid: signature, lifetime, issuer and audience all check out.",
    },
    "debugger.rejected": {
        "vi": "Token này sẽ bị từ chối. Xem các vấn đề bên dưới.",
        "en": "This token would be rejected. See the problems below.",
    },
    "debugger.kind": {"vi": "Loại token", "en": "Token type"},
    "debugger.findings": {"vi": "Kết quả kiểm tra", "en": "Checks"},
    "debugger.header": {"vi": "Header (đã giải mã)", "en": "Header (decoded)"},
    "debugger.claims": {"vi": "Claims (đã giải mã)", "en": "Claims (decoded)"},
    "debugger.kind.id_token": {"vi": "ID token", "en": "ID token"},
    "debugger.kind.access_token": {
        "vi": "Access token (RFC 9068)",
        "en": "Access token (RFC 9068)",
    },
    "debugger.kind.logout_token": {
        "vi": "Logout token (đăng xuất kênh sau)",
        "en": "Logout token (back-channel logout)",
    },
    "debugger.kind.kyc_answer": {"vi": "Kết quả e-KYC đã ký", "en": "Signed e-KYC answer"},
    "debugger.kind.client_assertion": {
        "vi": "Client assertion (private_key_jwt)",
        "en": "Client assertion (private_key_jwt)",
    },
    "debugger.kind.dpop_proof": {
        "vi": "DPoP proof (RFC 9449)",
        "en": "DPoP proof (RFC 9449)",
    },
    "debugger.kind.other_jwt": {"vi": "JWT không rõ loại", "en": "JWT of unknown kind"},
    "debugger.kind.encrypted": {"vi": "JWE (mã hóa)", "en": "JWE (encrypted)"},
    "debugger.kind.opaque": {"vi": "Token không phải JWT", "en": "Opaque token"},
    "debugger.kind.unreadable": {"vi": "Không đọc được", "en": "Unreadable"},
    "debugger.verdict.ok": {"vi": "Đạt", "en": "OK"},
    "debugger.verdict.problem": {"vi": "Lỗi", "en": "Problem"},
    "debugger.verdict.warning": {"vi": "Cảnh báo", "en": "Warning"},
    "debugger.verdict.info": {"vi": "Thông tin", "en": "Info"},
    "debugger.topic.format": {"vi": "Định dạng", "en": "Format"},
    "debugger.topic.type": {"vi": "Loại", "en": "Type"},
    "debugger.topic.header": {"vi": "Header", "en": "Header"},
    "debugger.topic.signature": {"vi": "Chữ ký", "en": "Signature"},
    "debugger.topic.expiry": {"vi": "Thời hạn", "en": "Lifetime"},
    "debugger.topic.issuer": {"vi": "Bên phát hành", "en": "Issuer"},
    "debugger.topic.audience": {"vi": "Đối tượng nhận", "en": "Audience"},
    "debugger.topic.level": {"vi": "Mức độ bảo đảm", "en": "Level of assurance"},
    "debugger.topic.logout": {"vi": "Đăng xuất", "en": "Logout"},
    "debugger.topic.revocation": {"vi": "Thu hồi", "en": "Revocation"},
    "debugger.duration.hours": {"vi": "{n} giờ", "en": "{n} h"},
    "debugger.duration.minutes": {"vi": "{n} phút", "en": "{n} min"},
    "debugger.duration.seconds": {"vi": "{n} giây", "en": "{n} s"},
}

# Findings: "debugger.finding.<code>" (codes from identity_service.token_checks).
_FINDINGS: dict[str, tuple[str, str]] = {
    "format.empty": ("Chưa có token nào được dán.", "Nothing was pasted."),
    "format.too_long": ("Token dài quá {max} ký tự.", "The token is longer than {max} characters."),
    "format.bearer_prefix": (
        "Đã bỏ tiền tố “Bearer ”: đó là phần của header HTTP, không thuộc token.",
        "Removed the “Bearer ” prefix: it belongs to the HTTP header, not the token.",
    ),
    "format.encrypted": (
        "Đây là JWE (5 phần, đã mã hóa); natid không phát hành token mã hóa.",
        "This is a JWE (5 parts, encrypted); natid issues no encrypted tokens.",
    ),
    "format.opaque": (
        "Không phải JWT. Refresh token của natid là chuỗi ngẫu nhiên: kiểm tra bằng "
        "endpoint /introspect với xác thực client.",
        "Not a JWT. natid's refresh tokens are opaque random strings: ask the /introspect "
        "endpoint with client authentication.",
    ),
    "format.not_jwt": (
        "Không phải JWT dạng compact (header.payload.signature).",
        "Not a compact JWT (header.payload.signature).",
    ),
    "format.bad_header": (
        "Phần header không phải JSON base64url hợp lệ.",
        "The header is not valid base64url-encoded JSON.",
    ),
    "format.bad_claims": (
        "Phần payload không phải một đối tượng JSON base64url hợp lệ.",
        "The payload is not a valid base64url-encoded JSON object.",
    ),
    "format.bad_signature": (
        "Phần chữ ký không phải base64url hợp lệ.",
        "The signature part is not valid base64url.",
    ),
    "type.id_token": ("ID token (typ: {typ}).", "ID token (typ: {typ})."),
    "type.access_token": ("Access token (typ: {typ}).", "Access token (typ: {typ})."),
    "type.logout_token": ("Logout token (typ: {typ}).", "Logout token (typ: {typ})."),
    "type.kyc_answer": ("Kết quả e-KYC (typ: {typ}).", "e-KYC answer (typ: {typ})."),
    "type.client_assertion": (
        "Client assertion của một cổng dịch vụ (iss = sub = client_id).",
        "A portal's client assertion (iss = sub = client_id).",
    ),
    "type.dpop_proof": (
        "DPoP proof: bằng chứng sở hữu khóa của client, gửi kèm mỗi yêu cầu (typ: {typ}).",
        "DPoP proof: the client's proof of holding its key, sent with each request (typ: {typ}).",
    ),
    "type.other_jwt": (
        "JWT không phải loại natid phát hành (typ: {typ}).",
        "A JWT of no kind natid issues (typ: {typ}).",
    ),
    "header.alg_none": (
        "alg là “none”: token không có chữ ký. Không bao giờ chấp nhận token như vậy.",
        "alg is “none”: the token is unsigned. Never accept such a token.",
    ),
    "header.symmetric": (
        "alg {alg} dùng khóa bí mật chung; natid chỉ ký bằng khóa bất đối xứng. Đây là dấu "
        "hiệu của tấn công nhầm lẫn khóa.",
        "alg {alg} uses a shared secret; natid signs only with asymmetric keys. This is the "
        "mark of a key-confusion attack.",
    ),
    "header.key_url": (
        "Header “{name}” trỏ tới một URL chứa khóa: đừng bao giờ tải khóa theo token, hãy "
        "dùng jwks_uri trong tài liệu discovery.",
        "Header “{name}” points at a key URL: never fetch keys a token names; use the "
        "jwks_uri of the discovery document.",
    ),
    "header.embedded_key": (
        "Header “{name}” mang theo khóa riêng của token: bỏ qua nó, chỉ tin JWKS của natid.",
        "Header “{name}” carries its own key: ignore it and trust only natid's JWKS.",
    ),
    "header.crit": (
        "Header “crit” yêu cầu phần mở rộng mà natid không dùng.",
        "The “crit” header demands extensions natid does not use.",
    ),
    "header.access_without_typ": (
        "Trông như access token nhưng typ không phải at+jwt (RFC 9068): có thể là nhầm lẫn "
        "loại token.",
        "Looks like an access token but typ is not at+jwt (RFC 9068): a token-type mix-up.",
    ),
    "signature.no_alg": ("Header không có alg.", "The header has no alg."),
    "signature.alg_none": ("Không có chữ ký (alg none).", "Unsigned (alg none)."),
    "signature.symmetric": (
        "Không thể xác minh: {alg} không phải thuật toán của natid.",
        "Cannot verify: {alg} is not one of natid's algorithms.",
    ),
    "signature.unexpected_alg": (
        "alg {alg} không được dùng cho loại token này (chỉ: {allowed}).",
        "alg {alg} is not used for this kind of token (only: {allowed}).",
    ),
    "signature.proof_without_jwk": (
        "DPoP proof phải mang khóa công khai của nó trong header jwk.",
        "A DPoP proof must carry its public key in the jwk header.",
    ),
    "signature.private_jwk": (
        "Header jwk chứa khóa bí mật: không bao giờ gửi khóa bí mật đi đâu cả.",
        "The jwk header holds private key material: never send a private key anywhere.",
    ),
    "signature.client_without_jwks": (
        "Cổng dịch vụ này không đăng ký JWKS, nên không có khóa để xác minh assertion.",
        "This portal registered no JWKS, so there is no key to verify the assertion with.",
    ),
    "signature.not_registered": (
        "Cổng dịch vụ đăng ký ID token ký bằng {registered}, nhưng token dùng {alg}.",
        "The portal registered {registered} ID tokens, but this one uses {alg}.",
    ),
    "signature.unknown_kid": (
        "Không có khóa kid “{kid}” trong JWKS ({source}): khóa lạ, hoặc đã hết hạn sau khi "
        "xoay vòng khóa.",
        "No key with kid “{kid}” in the JWKS ({source}): a foreign key, or one retired after "
        "a rotation.",
    ),
    "signature.no_key": (
        "Header không có kid và JWKS ({source}) không có khóa {alg}.",
        "The header has no kid and the JWKS ({source}) has no {alg} key.",
    ),
    "signature.alg_mismatch": (
        "Khóa kid “{kid}” không dùng cho {alg}.",
        "The key with kid “{kid}” is not for {alg}.",
    ),
    "signature.invalid": (
        "Chữ ký SAI với khóa kid “{kid}” ({alg}): token đã bị sửa hoặc giả mạo.",
        "Signature INVALID for key kid “{kid}” ({alg}): the token was altered or forged.",
    ),
    "signature.rejected": (
        "Không xác minh được chữ ký ({alg}, kid “{kid}”): {reason}",
        "Signature not verifiable ({alg}, kid “{kid}”): {reason}",
    ),
    "signature.valid": (
        "Chữ ký hợp lệ: khóa kid “{kid}”, thuật toán {alg}, từ JWKS ({source}).",
        "Valid signature: key kid “{kid}”, algorithm {alg}, from the JWKS ({source}).",
    ),
    "expiry.none_dpop": (
        "DPoP proof không có exp: natid chỉ nhận proof mới ký trong vòng một phút (iat).",
        "A DPoP proof has no exp: natid accepts one only within a minute of its iat.",
    ),
    "expiry.none_kyc": (
        "Không có exp: kết quả e-KYC là bằng chứng tại thời điểm iat, không hết hạn.",
        "No exp: an e-KYC answer is evidence as of iat and does not expire.",
    ),
    "expiry.missing": ("Thiếu claim exp.", "The exp claim is missing."),
    "expiry.not_number": ("Claim {claim} không phải số.", "The {claim} claim is not a number."),
    "expiry.expired": (
        "Đã hết hạn {duration} trước ({at}).",
        "Expired {duration} ago ({at}).",
    ),
    "expiry.valid_for": (
        "Còn hiệu lực trong {duration} (đến {at}).",
        "Valid for another {duration} (until {at}).",
    ),
    "expiry.issued": ("Được cấp {duration} trước ({at}).", "Issued {duration} ago ({at})."),
    "expiry.issued_in_future": (
        "iat ở tương lai ({duration} nữa): đồng hồ lệch hoặc token giả.",
        "iat is in the future ({duration} ahead): a skewed clock or a forged token.",
    ),
    "expiry.not_yet_valid": (
        "nbf: chưa có hiệu lực trong {duration} nữa.",
        "nbf: not valid for another {duration}.",
    ),
    "issuer.client": (
        "Bên phát hành là cổng dịch vụ đã đăng ký “{name}” ({client_id}).",
        "Issued by the registered portal “{name}” ({client_id}).",
    ),
    "issuer.unknown_client": (
        "iss “{iss}” không phải client_id đã đăng ký.",
        "iss “{iss}” is not a registered client_id.",
    ),
    "issuer.missing": ("Thiếu claim iss.", "The iss claim is missing."),
    "issuer.natid": ("Bên phát hành đúng: {iss}.", "Issuer is natid: {iss}."),
    "issuer.trailing_slash": (
        "iss “{iss}” khác “{expected}” ở dấu “/” cuối: bên phát hành được so sánh chính xác "
        "từng ký tự.",
        "iss “{iss}” differs from “{expected}” by a trailing “/”: issuers are compared exactly.",
    ),
    "issuer.other": (
        "iss “{iss}” không phải natid ({expected}).",
        "iss “{iss}” is not natid ({expected}).",
    ),
    "audience.missing": ("Thiếu claim aud.", "The aud claim is missing."),
    "audience.endpoint": (
        "aud là endpoint của natid: {aud}.",
        "aud is a natid endpoint: {aud}.",
    ),
    "audience.wrong_endpoint": (
        "aud “{aud}” không phải endpoint của natid; dùng {expected}.",
        "aud “{aud}” is not a natid endpoint; use {expected}.",
    ),
    "audience.resource": (
        "aud là natid (tài nguyên userinfo/e-KYC): {aud}.",
        "aud is natid (the userinfo/e-KYC resource): {aud}.",
    ),
    "audience.not_resource": (
        "aud “{aud}” không phải natid ({expected}): access token của natid chỉ dùng cho API "
        "của natid.",
        "aud “{aud}” is not natid ({expected}): natid's access tokens are for natid's APIs.",
    ),
    "audience.access_client": (
        "Cấp cho cổng dịch vụ “{name}” ({client_id}).",
        "Issued to the portal “{name}” ({client_id}).",
    ),
    "audience.client": (
        "Dành cho cổng dịch vụ “{name}” ({client_id}).",
        "Meant for the portal “{name}” ({client_id}).",
    ),
    "audience.unknown_client": (
        "“{client_id}” không phải cổng dịch vụ đã đăng ký.",
        "“{client_id}” is not a registered portal.",
    ),
    "audience.azp": (
        "Có nhiều aud nhưng azp không nêu bên được cấp.",
        "Several audiences but azp names none of them.",
    ),
    "audience.expected": (
        "Đúng là dành cho client_id của bạn ({expected}).",
        "Meant for your client_id ({expected}).",
    ),
    "audience.not_expected": (
        "KHÔNG dành cho client_id của bạn ({expected}); aud là {aud}.",
        "NOT meant for your client_id ({expected}); aud is {aud}.",
    ),
    "level.kyc": (
        "Kết quả: {result}; mức độ bảo đảm của câu trả lời: {level}.",
        "Result: {result}; level the answer vouches for: {level}.",
    ),
    "level.machine": (
        "Token của máy chủ (client credentials): không có công dân, không có acr.",
        "A machine token (client credentials): no citizen, no acr.",
    ),
    "level.missing": ("Thiếu claim acr.", "The acr claim is missing."),
    "level.unknown_acr": ("acr “{acr}” không phải của natid.", "acr “{acr}” is not natid's."),
    "level.acr": ("{acr} = mức độ {level} (amr: {amr}).", "{acr} = level {level} (amr: {amr})."),
    "level.below_minimum": (
        "Mức độ {level} thấp hơn mức tối thiểu {min_level} mà “{name}” đăng ký.",
        "Level {level} is below the minimum {min_level} that “{name}” registered.",
    ),
    "logout.no_event": (
        "Thiếu sự kiện back-channel logout trong claim events.",
        "The events claim lacks the back-channel logout event.",
    ),
    "logout.nonce": (
        "Logout token không được có nonce (OIDC Back-Channel Logout §2.4).",
        "A logout token must not carry a nonce (OIDC Back-Channel Logout §2.4).",
    ),
    "logout.no_subject": (
        "Logout token phải có sub hoặc sid.",
        "A logout token must carry sub or sid.",
    ),
    "dpop.bound": (
        "Token gắn với khóa DPoP có thumbprint {jkt}: gửi bằng scheme DPoP, kèm proof ký bởi "
        "khóa đó.",
        "Bound to the DPoP key with thumbprint {jkt}: send it with the DPoP scheme and a "
        "proof signed by that key.",
    ),
    "dpop.jkt": (
        "Thumbprint của khóa (RFC 7638): {jkt}; token cấp kèm proof này có cnf.jkt bằng giá "
        "trị đó.",
        "Key thumbprint (RFC 7638): {jkt}; tokens issued with this proof carry it as cnf.jkt.",
    ),
    "dpop.bad_jwk": ("Header jwk thiếu thành phần bắt buộc.", "The jwk lacks required members."),
    "dpop.htm": ("Cho yêu cầu {htm}.", "For a {htm} request."),
    "dpop.no_htm": ("Thiếu hoặc sai claim htm.", "The htm claim is missing or not a method."),
    "dpop.htu": ("Cho endpoint {htu} của natid.", "For natid's endpoint {htu}."),
    "dpop.htu_other": (
        "htu {htu} không phải endpoint nào của natid nhận DPoP (token, PAR, userinfo, e-KYC).",
        "htu {htu} is none of natid's endpoints that take DPoP (token, PAR, userinfo, e-KYC).",
    ),
    "dpop.no_htu": ("Thiếu claim htu.", "The htu claim is missing."),
    "dpop.no_jti": (
        "Thiếu claim jti: mỗi proof cần một jti mới.",
        "The jti claim is missing: every proof needs a fresh one.",
    ),
    "dpop.no_iat": ("Thiếu hoặc sai claim iat.", "The iat claim is missing or not a time."),
    "dpop.stale": (
        "Proof đã ký cách đây {seconds} giây; natid chỉ nhận proof trong vòng {limit} giây.",
        "Signed {seconds} seconds ago; natid accepts proofs up to {limit} seconds old.",
    ),
    "dpop.fresh": ("Ký cách đây {seconds} giây.", "Signed {seconds} seconds ago."),
    "dpop.ath": (
        "Có ath: proof cho một yêu cầu kèm access token (userinfo, e-KYC).",
        "Carries ath: a proof for a request with an access token (userinfo, e-KYC).",
    ),
    "dpop.no_ath": (
        "Không có ath: chỉ dùng được ở endpoint token hoặc PAR.",
        "No ath: usable only at the token or PAR endpoint.",
    ),
    "dpop.nonce": (
        "Có nonce của máy chủ (trang này không kiểm tra nonce còn hiệu lực hay không).",
        "Carries a server nonce (this page does not check whether it is still current).",
    ),
    "dpop.no_nonce": (
        "Không có nonce: natid sẽ trả lời use_dpop_nonce kèm nonce trong header DPoP-Nonce.",
        "No nonce: natid will answer use_dpop_nonce with the nonce in the DPoP-Nonce header.",
    ),
    "revocation.not_checked": (
        "Trang này không kiểm tra token đã bị thu hồi hay chưa: dùng /introspect.",
        "This page does not check revocation: use /introspect.",
    ),
}
DEBUGGER_MESSAGES.update(
    {f"debugger.finding.{code}": {"vi": vi, "en": en} for code, (vi, en) in _FINDINGS.items()}
)
FINDING_CODES = frozenset(_FINDINGS)
