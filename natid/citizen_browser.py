"""A test citizen at natid without a browser: the IdP's own pages, driven over HTTP.

``CitizenBrowser`` keeps cookies like a browser (so the SSO session carries over from one
login to the next), follows the IdP's redirects, fills in the login, second-factor and
consent forms it is shown (with their CSRF tokens, as a browser would post them), and
stops at the redirect back to the portal. ``authorize`` takes any authorization URL, so
an integrator's own relying party can build the request and redeem the code itself.

TOTP codes are computed from the citizen's secret. natid accepts each time step once per
account (replay protection) and one step either side of now, so a citizen can complete
about two level-2 logins per 30 seconds; the browser tries the next step's code when the
current one was already used.
"""

from __future__ import annotations

import html
import re
import time
from urllib.parse import urljoin, urlsplit

import httpx
import pyotp

MAX_STEPS = 12
TOTP_STEP_SECONDS = 30
_FORM = re.compile(r'<form method="post" action="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.DOTALL)


class CitizenLoginError(Exception):
    """natid's pages did not let the citizen through; the message is the page's own."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class CitizenBrowser:
    """One browser of one citizen (or several, one after the other) at natid."""

    def __init__(self, issuer: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.http = httpx.Client(
            base_url=self.issuer, transport=transport, follow_redirects=False, timeout=30
        )

    def __enter__(self) -> CitizenBrowser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def authorize(
        self,
        authorization_url: str,
        personal_id_number: str | None = None,
        password: str | None = None,
        *,
        totp_secret: str | None = None,
        consent: bool = True,
    ) -> str:
        """Go from ``authorization_url`` to the redirect back to the portal; its URL.

        The redirect carries ``code`` (or ``error``), ``state`` and ``iss``. Without
        credentials only an existing SSO session can answer. Raises
        ``CitizenLoginError`` with the page's message when natid refuses (wrong password,
        lockout, an unregistered redirect URI...).
        """
        response = self.http.get(authorization_url)
        code_attempts = 0
        for _ in range(MAX_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if not self._is_idp(location):
                    return location
                response = self.http.get(location)
                continue
            actions = _FORM.findall(response.text)
            if _has(actions, "/login") and response.status_code == 200:
                if personal_id_number is None or password is None:
                    raise CitizenLoginError("natid asks for the password: no SSO session")
                fields = {"personal_id_number": personal_id_number, "password": password}
                response = self._submit(response, "/login", fields)
            elif _has(actions, "/second-factor") and (
                response.status_code == 200 or code_attempts == 1
            ):
                if totp_secret is None:
                    raise CitizenLoginError("natid asks for a TOTP code: give totp_secret")
                # The second try uses the next step: this step's code was used already.
                at = time.time() + code_attempts * TOTP_STEP_SECONDS
                code = pyotp.TOTP(totp_secret).at(int(at))
                code_attempts += 1
                response = self._submit(response, "/second-factor", {"code": code})
            elif _has(actions, "/consent") and response.status_code == 200:
                decision = "approve" if consent else "deny"
                response = self._submit(response, "/consent", {"decision": decision})
            else:
                raise CitizenLoginError(page_message(response), response.status_code)
        raise CitizenLoginError("too many steps at natid's pages")

    def log_out(self, end_session_url: str | None = None) -> str | None:
        """End the citizen's natid session as they would: open the end-session URL (a
        portal's logout URL, or natid's own ``/logout``) and confirm if natid asks.
        natid then notifies the portals by back-channel. Returns the URL natid sends the
        browser back to, if any."""
        response = self.http.get(end_session_url or f"{self.issuer}/logout")
        for _ in range(MAX_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if not self._is_idp(location):
                    return location
                response = self.http.get(location)
                continue
            actions = _FORM.findall(response.text)
            if response.status_code != 200 or not actions or 'value="logout"' not in response.text:
                if response.status_code != 200:
                    raise CitizenLoginError(page_message(response), response.status_code)
                return None  # natid's "you are logged out" page
            fields = dict(_HIDDEN.findall(response.text))
            fields = {name: html.unescape(value) for name, value in fields.items()}
            response = self.http.post(
                html.unescape(actions[0]), data={**fields, "decision": "logout"}
            )
        raise CitizenLoginError("too many steps at natid's logout pages")

    def _submit(self, page: httpx.Response, ending: str, fields: dict[str, str]) -> httpx.Response:
        action = next(path for path in _FORM.findall(page.text) if path.endswith(ending))
        match = _CSRF.search(page.text)
        csrf = html.unescape(match.group(1)) if match else ""
        return self.http.post(html.unescape(action), data={"csrf_token": csrf, **fields})

    def _is_idp(self, url: str) -> bool:
        target, idp = urlsplit(url), urlsplit(self.issuer)
        return (target.scheme, target.netloc) == (idp.scheme, idp.netloc)


def page_message(response: httpx.Response) -> str:
    """The error a natid page shows, as text (or what kind of answer it was)."""
    match = _ERROR.search(response.text)
    if match:
        return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
    return f"unexpected answer from natid: HTTP {response.status_code}"


def _has(actions: list[str], ending: str) -> bool:
    return any(action.endswith(ending) for action in actions)
