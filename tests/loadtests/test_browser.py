"""Reading the IdP's pages and redirects the way the Locust browser does."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from loadtests.browser import (
    authorization_attempt,
    code_challenge,
    form_for,
    is_redirect_to,
    page_forms,
    path_of,
    read_callback,
)

LOGIN_PAGE = """
<form method="post" action="/interaction/abc/login">
  <input type="hidden" name="csrf_token" value="t&amp;k1">
  <input id="personal_id_number" name="personal_id_number" type="text" required value="">
  <input id="password" name="password" type="password" required>
  <button type="submit">Đăng nhập</button>
</form>
<form action="/interaction/abc/cancel" method="post" class="inline">
  <input value="t&amp;k1" name="csrf_token" type="hidden">
  <button type="submit" class="link">Quay lại</button>
</form>
"""
CONSENT_PAGE = """
<form method="post" action="/interaction/xyz/consent" class="buttons">
  <input type="hidden" name="csrf_token" value="c2">
  <button type="submit" name="decision" value="approve">Đồng ý</button>
  <button type="submit" name="decision" value="deny" class="secondary">Từ chối</button>
</form>
"""


def test_pkce_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_authorization_attempt_carries_pkce_state_and_nonce() -> None:
    attempt = authorization_attempt(
        "/authorize", "portal", "http://127.0.0.1:9/cb", "openid profile", prompt="login"
    )
    parts = urlsplit(attempt.url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert parts.path == "/authorize"
    assert query["code_challenge"] == code_challenge(attempt.code_verifier)
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == attempt.state and query["nonce"] == attempt.nonce
    assert query["scope"] == "openid profile" and query["prompt"] == "login"
    other = authorization_attempt("/authorize", "portal", "http://127.0.0.1:9/cb", "openid")
    assert other.code_verifier != attempt.code_verifier and other.state != attempt.state


def test_forms_are_read_whatever_the_attribute_order() -> None:
    forms = page_forms(LOGIN_PAGE)
    assert [form.action for form in forms] == ["/interaction/abc/login", "/interaction/abc/cancel"]
    assert forms[0].hidden == {"csrf_token": "t&k1"}  # entities decoded
    assert forms[1].hidden == {"csrf_token": "t&k1"}
    login = form_for(LOGIN_PAGE, "/login")
    assert login is not None and "password" not in login.hidden


def test_consent_buttons_are_read_with_their_values() -> None:
    consent = form_for(CONSENT_PAGE, "/consent")
    assert consent is not None
    assert consent.buttons == {"decision": ["approve", "deny"]}
    assert form_for(CONSENT_PAGE, "/login") is None


def test_callback_parameters_and_redirect_target() -> None:
    location = "http://127.0.0.1:9/cb?code=c0de&state=s1&iss=http%3A%2F%2F127.0.0.1%3A8000"
    callback = read_callback(location)
    assert (callback.code, callback.state, callback.error) == ("c0de", "s1", None)
    assert callback.issuer == "http://127.0.0.1:8000"
    assert is_redirect_to(location, "http://127.0.0.1:9/cb")
    assert not is_redirect_to("http://127.0.0.1:9/cb/evil?code=x", "http://127.0.0.1:9/cb")
    denied = read_callback("http://127.0.0.1:9/cb?error=access_denied&state=s1")
    assert denied.code is None and denied.error == "access_denied"


def test_path_of_drops_scheme_and_host() -> None:
    assert path_of("http://127.0.0.1:8000/token") == "/token"
    assert path_of("https://id.example/interaction/a?lang=en") == "/interaction/a?lang=en"
