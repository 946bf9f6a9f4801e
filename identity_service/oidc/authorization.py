"""The authorization flow: from a validated request to a code, through login and consent.

Decides, for a request and the browser's SSO session, what is still needed (OIDC Core
§3.1.2.3): a full login (no session, ``prompt=login``, ``max_age`` passed, or a level the
account cannot reach from the session), a step-up (the session is below the level asked
and the account has a second factor: ask only the TOTP code), consent (scopes not granted
before, or ``prompt=consent``), or nothing — then a code is issued at once. With
``prompt=none`` anything needed becomes ``login_required``, ``interaction_required`` or
``consent_required``. Each page the routes render is one step of an ``Interaction``; the
methods here advance it once the routes have verified the password, code or consent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from identity_service.oidc.codes import AuthorizationCodes, CodeGrant
from identity_service.oidc.consent import ConsentService
from identity_service.oidc.errors import (
    AccessDeniedError,
    AuthorizationRedirectError,
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
    OAuthError,
)
from identity_service.oidc.interactions import (
    Authentication,
    Interaction,
    InteractionError,
    InteractionStore,
    Step,
)
from identity_service.oidc.levels import HIGHEST_LEVEL, LOWEST_LEVEL
from identity_service.oidc.metadata import FAPI2_MAX_CODE_TTL_SECONDS
from identity_service.oidc.requests import AuthorizationRequest
from identity_service.oidc.responses import error_redirect, success_redirect
from identity_service.oidc.sessions import SsoSession, SsoSessions


@dataclass(frozen=True, slots=True)
class FlowResult:
    """Either a redirect back to the client or the interaction page to show next.

    ``session_cookie`` is a new SSO cookie value to set (after a login or step-up).
    """

    redirect_url: str | None = None
    interaction: Interaction | None = None
    session_cookie: str | None = None


class AuthorizationFlow:
    def __init__(
        self,
        *,
        sessions: SsoSessions,
        consents: ConsentService,
        codes: AuthorizationCodes,
        interactions: InteractionStore,
        issuer: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._consents = consents
        self._codes = codes
        self._interactions = interactions
        self._issuer = issuer
        self._clock = clock

    # -- entry ---------------------------------------------------------------------------

    def start(
        self, request: AuthorizationRequest, session: SsoSession | None, browser_cookie: str
    ) -> FlowResult:
        """What a fresh authorization request leads to, given the browser's session."""
        needs_login = session is None or self._must_reauthenticate(request, session)
        needs_step_up = False
        if session is not None and not needs_login and session.level < request.required_level:
            # Without a second factor on the account, only a fresh login (perhaps of an
            # account upgraded since, or of someone else) can reach the level.
            needs_step_up = session.account_level >= HIGHEST_LEVEL
            needs_login = not needs_step_up
        if "none" in request.prompt:
            return self._without_interaction(request, session, needs_login, needs_step_up)
        if needs_login or session is None:
            step = self._interactions.create(
                request, step=Step.LOGIN, browser_cookie=browser_cookie
            )
            return FlowResult(interaction=step)
        if needs_step_up:
            step = self._interactions.create(
                request,
                step=Step.SECOND_FACTOR,
                browser_cookie=browser_cookie,
                subject=session.personal_id_number,
                account_level=session.account_level,
                step_up_sid=session.sid,
            )
            return FlowResult(interaction=step)
        authentication = _authentication_of(session)
        if self._consent_needed(request, authentication):
            step = self._interactions.create(
                request,
                step=Step.CONSENT,
                browser_cookie=browser_cookie,
                authentication=authentication,
            )
            return FlowResult(interaction=step)
        return FlowResult(redirect_url=self._issue_code(request, authentication))

    # -- steps -----------------------------------------------------------------------------

    def password_verified(
        self,
        interaction: Interaction,
        *,
        personal_id_number: str,
        account_level: int,
        current_cookie: str | None,
    ) -> FlowResult:
        """The citizen proved their password on the login page."""
        _expect(interaction, Step.LOGIN)
        request = interaction.request
        if request.required_level >= HIGHEST_LEVEL:
            if account_level < HIGHEST_LEVEL:
                return self._refuse(
                    interaction,
                    AccessDeniedError("this service requires a level-2 e-ID account"),
                )
            following = self._interactions.update(
                interaction,
                step=Step.SECOND_FACTOR,
                subject=personal_id_number,
                account_level=account_level,
                password_verified=True,
                step_up_sid=None,
            )
            return FlowResult(interaction=following)
        cookie, session = self._sessions.create(
            personal_id_number,
            level=LOWEST_LEVEL,
            account_level=account_level,
            replaces=current_cookie,
        )
        return self._authenticated(interaction, session, cookie)

    def second_factor_verified(
        self,
        interaction: Interaction,
        *,
        current_cookie: str | None,
        current_session: SsoSession | None,
    ) -> FlowResult:
        """The citizen gave a valid TOTP code for ``interaction.subject``."""
        _expect(interaction, Step.SECOND_FACTOR)
        if interaction.subject is None:
            raise InteractionError("wrong_step")
        if interaction.password_verified:
            cookie, session = self._sessions.create(
                interaction.subject,
                level=HIGHEST_LEVEL,
                account_level=interaction.account_level or HIGHEST_LEVEL,
                replaces=current_cookie,
            )
        elif (
            current_cookie is None
            or current_session is None
            or current_session.sid != interaction.step_up_sid
        ):
            # The session being stepped up ended meanwhile: start over with a full login.
            following = self._interactions.update(
                interaction, step=Step.LOGIN, subject=None, step_up_sid=None
            )
            return FlowResult(interaction=following)
        else:
            cookie, session = self._sessions.step_up(current_cookie, current_session, HIGHEST_LEVEL)
        return self._authenticated(interaction, session, cookie)

    def consent_given(self, interaction: Interaction) -> FlowResult:
        _expect(interaction, Step.CONSENT)
        authentication = interaction.authentication
        if authentication is None:
            raise InteractionError("wrong_step")
        request = interaction.request
        self._interactions.finish(interaction)
        self._consents.grant(authentication.personal_id_number, request.client_id, request.scopes)
        return FlowResult(redirect_url=self._issue_code(request, authentication))

    def consent_refused(self, interaction: Interaction) -> FlowResult:
        _expect(interaction, Step.CONSENT)
        return self._refuse(interaction, AccessDeniedError("the citizen did not consent"))

    def cancel(self, interaction: Interaction) -> FlowResult:
        """The citizen chose to go back to the portal without logging in."""
        return self._refuse(interaction, AccessDeniedError("the citizen cancelled the login"))

    def error_url(self, request: AuthorizationRequest, error: OAuthError) -> str:
        return error_redirect(request.redirect_uri, error, state=request.state, issuer=self._issuer)

    # -- internals -------------------------------------------------------------------------

    def _must_reauthenticate(self, request: AuthorizationRequest, session: SsoSession) -> bool:
        if {"login", "select_account"} & set(request.prompt):
            return True
        if request.max_age is None:
            return False
        # max_age=0 means "authenticate now" (OIDC Core §3.1.2.1), like prompt=login.
        return request.max_age == 0 or self._clock() - session.auth_time > request.max_age

    def _without_interaction(
        self,
        request: AuthorizationRequest,
        session: SsoSession | None,
        needs_login: bool,
        needs_step_up: bool,
    ) -> FlowResult:
        def fail(error: OAuthError) -> AuthorizationRedirectError:
            return AuthorizationRedirectError(error, request.redirect_uri, request.state)

        if needs_login or session is None:
            raise fail(LoginRequiredError("the citizen is not logged in (prompt=none)"))
        if needs_step_up:
            raise fail(InteractionRequiredError("a higher level of assurance is needed"))
        authentication = _authentication_of(session)
        if self._consent_needed(request, authentication):
            raise fail(ConsentRequiredError("the citizen has not consented to these scopes"))
        return FlowResult(redirect_url=self._issue_code(request, authentication))

    def _authenticated(
        self, interaction: Interaction, session: SsoSession, cookie: str
    ) -> FlowResult:
        authentication = _authentication_of(session)
        request = interaction.request
        if self._consent_needed(request, authentication):
            following = self._interactions.update(
                interaction, step=Step.CONSENT, authentication=authentication
            )
            return FlowResult(interaction=following, session_cookie=cookie)
        self._interactions.finish(interaction)
        return FlowResult(
            redirect_url=self._issue_code(request, authentication), session_cookie=cookie
        )

    def _consent_needed(
        self, request: AuthorizationRequest, authentication: Authentication
    ) -> bool:
        if "consent" in request.prompt:
            return True
        return not self._consents.covers(
            authentication.personal_id_number, request.client_id, request.scopes
        )

    def _issue_code(self, request: AuthorizationRequest, authentication: Authentication) -> str:
        code = self._codes.issue(
            CodeGrant(
                client_id=request.client_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                personal_id_number=authentication.personal_id_number,
                auth_time=authentication.auth_time,
                level=authentication.level,
                sid=authentication.sid,
                dpop_jkt=request.dpop_jkt,
            ),
            max_ttl=FAPI2_MAX_CODE_TTL_SECONDS if request.fapi2 else None,
        )
        return success_redirect(
            request.redirect_uri, code=code, state=request.state, issuer=self._issuer
        )

    def _refuse(self, interaction: Interaction, error: OAuthError) -> FlowResult:
        self._interactions.finish(interaction)
        return FlowResult(redirect_url=self.error_url(interaction.request, error))


def _expect(interaction: Interaction, step: Step) -> None:
    if interaction.step is not step:
        raise InteractionError("wrong_step")


def _authentication_of(session: SsoSession) -> Authentication:
    return Authentication(
        sid=session.sid,
        personal_id_number=session.personal_id_number,
        auth_time=session.auth_time,
        level=session.level,
    )
