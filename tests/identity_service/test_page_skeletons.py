"""PageSkeletons: a page filled into its skeleton is byte for byte the page Jinja2
renders, for every interaction template, both languages and awkward values; skeletons
are not shared across contexts that differ, and there are at most max_pages of them."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from identity_service.api.pages import PageSkeletons, create_templates
from identity_service.i18n import other_locale, translator

TEMPLATES = create_templates()


def _values(locale: str, interaction_id: str, csrf_token: str, **context: Any) -> dict[str, Any]:
    return {
        "locale": locale,
        "other_locale": other_locale(locale),
        "t": translator(locale),
        "language_url": f"/interaction/{interaction_id}?lang={other_locale(locale)}",
        "interaction_id": interaction_id,
        "csrf_token": csrf_token,
        "client_name": "Cổng dịch vụ công",
        "message": None,
        "login_hint": None,
        "level2": False,
        "step_up": True,
        "released": [],
        **context,
    }


def _jinja(template: str, values: dict[str, Any]) -> str:
    return TEMPLATES.env.get_template(template).render(values)


def _filled(skeletons: PageSkeletons, template: str, values: dict[str, Any]) -> str | None:
    slots = {name: values[name] for name in ("interaction_id", "csrf_token")}
    return skeletons.page(template, values, slots)


CONTEXTS = [
    {},
    {"message": "Sai mật khẩu <script>alert(1)</script> & \"quotes\" 'too'"},
    {"login_hint": "001025230722", "level2": True},
    {"client_name": 'Bank <b>&amp;</b> "Co"'},
    {"step_up": False, "released": [("profile", [("name", "Nguyễn <Văn> A")]), ("phone", [])]},
]


@pytest.mark.parametrize("template", ["login.html", "second_factor.html", "consent.html"])
@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("context", CONTEXTS)
def test_a_filled_skeleton_is_the_page_jinja_renders(
    template: str, locale: str, context: dict[str, Any]
) -> None:
    skeletons = PageSkeletons(TEMPLATES)
    for _ in range(3):  # the first makes the skeleton, the others reuse it
        values = _values(locale, secrets.token_urlsafe(24), secrets.token_urlsafe(24), **context)
        assert _filled(skeletons, template, values) == _jinja(template, values)


def test_slot_values_are_escaped_as_jinja_escapes_them() -> None:
    skeletons = PageSkeletons(TEMPLATES)
    values = _values("vi", "id-<&>\"'-" + "x" * 16, "tok-<&>\"'-" + "y" * 16)
    page = _filled(skeletons, "login.html", values)
    assert page == _jinja("login.html", values)
    assert "<&>" not in (page or "")


def test_contexts_that_differ_get_skeletons_of_their_own() -> None:
    skeletons = PageSkeletons(TEMPLATES)
    plain = _values("vi", secrets.token_urlsafe(24), secrets.token_urlsafe(24))
    wrong = {**plain, "message": "Sai mật khẩu"}
    other_portal = {**plain, "client_name": "Another portal"}
    english = _values("en", plain["interaction_id"], plain["csrf_token"])
    for values in (plain, wrong, other_portal, english, plain):
        assert _filled(skeletons, "login.html", values) == _jinja("login.html", values)


def test_short_or_missing_slot_values_and_unhashable_contexts_are_left_to_jinja() -> None:
    skeletons = PageSkeletons(TEMPLATES)
    short = _values("vi", "abc", secrets.token_urlsafe(24))
    assert _filled(skeletons, "login.html", short) is None
    unhashable = _values("vi", secrets.token_urlsafe(24), secrets.token_urlsafe(24))
    unhashable["released"] = [("profile", [("name", {"a", "set"})])]
    assert _filled(skeletons, "consent.html", unhashable) is None


def test_at_most_max_pages_skeletons_are_kept() -> None:
    skeletons = PageSkeletons(TEMPLATES, max_pages=3)
    for index in range(10):
        values = _values(
            "vi", secrets.token_urlsafe(24), secrets.token_urlsafe(24), message=f"m{index}"
        )
        assert _filled(skeletons, "login.html", values) == _jinja("login.html", values)
    assert len(skeletons._pages) == 3
