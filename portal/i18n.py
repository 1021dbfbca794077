"""Languages: Simplified Chinese first, English second, chosen by the `lang` query parameter.

The language travels in the URL rather than a cookie so that public pages set no cookie and
stay cacheable per URL; every `url_for` carries the current choice along.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g, request
from flask_babel import Babel, get_locale

from portal import state
from portal.constants import ROOT

# URL value -> Babel locale, and the value of <html lang>.
LANGUAGES = {"zh": ("zh_Hans_CN", "zh-CN"), "en": ("en", "en")}


def current_language() -> str:
    """The page language of this request ("zh" or "en")."""
    if "lang" not in g:
        g.lang = state.config().default_language
        requested = request.args.get("lang") if request else None
        if requested is not None:
            if requested not in LANGUAGES:
                abort(400, description="unsupported-language")
            g.lang = requested
    return g.lang


def localized(zh: str, en: str) -> str:
    """The Chinese or English label of a data row, in the page language."""
    return en if str(get_locale()) == "en" else zh


def html_lang() -> str:
    """The value for <html lang="…">."""
    return LANGUAGES[current_language()][1]


def _locale() -> str:
    return LANGUAGES[current_language()][0]


def _timezone() -> str:
    return state.config().timezone


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and carry a non-default language through every generated URL."""
    Babel(
        app,
        locale_selector=_locale,
        timezone_selector=_timezone,
        default_translation_directories=str(ROOT / "translations"),
    )

    @app.before_request
    def _resolve_language() -> None:
        # First of the request's checks: an unsupported `lang` is refused here, never for the
        # first time while an error page (which needs the language) is being rendered.
        current_language()

    @app.url_defaults
    def _keep_language(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" or "lang" in values:
            return
        default = state.config().default_language
        if request and current_language() != default:
            values["lang"] = current_language()

    app.jinja_env.globals.update(html_lang=html_lang, current_language=current_language)
