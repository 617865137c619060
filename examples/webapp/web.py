"""What every page of the example app shares: its state, the signed-in user, the CSRF token,
JSON or HTML, and problem pages."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app, jsonify, render_template, request, session
from flask.typing import ResponseReturnValue

from examples.webapp.importer import Importer
from examples.webapp.problems import Problem, problem
from examples.webapp.storage import Storage
from picker_discovery.web import WebSignIn

__all__ = [
    "User",
    "WebApp",
    "csrf_ok",
    "csrf_token",
    "current_user",
    "show_problem",
    "state",
    "wants_json",
]

EXTENSION = "picker_webapp"


@dataclass
class WebApp:
    """The app's parts, kept in ``app.extensions``."""

    signin: WebSignIn
    storage: Storage
    importer: Importer


@dataclass(frozen=True)
class User:
    id: str
    email: str | None


def state() -> WebApp:
    app_state: WebApp = current_app.extensions[EXTENSION]
    return app_state


def current_user() -> User | None:
    """The signed-in user, or None: nobody signed in in this browser, or their stored token
    is gone (signed out elsewhere, revoked, or the token store was reset)."""
    user_id = session.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        return None
    if state().signin.store.load(user_id) is None:
        session.pop("user_id", None)
        return None
    email = session.get("email")
    return User(user_id, email if isinstance(email, str) else None)


def csrf_token() -> str:
    """This browser session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """Whether the POST carries this session's CSRF token (form field or header)."""
    expected = session.get("csrf")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    return isinstance(expected, str) and hmac.compare_digest(sent.encode(), expected.encode())


def wants_json() -> bool:
    """Whether the client asked for JSON (the page's script does) rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def show_problem(found: Problem, *, status: int | None = None) -> ResponseReturnValue:
    """``found`` as a page, or as JSON to the page's script."""
    code = status if status is not None else found.status
    if wants_json():
        return jsonify(problem=found.to_dict()), code
    return render_template("problem.html", problem=found, user=current_user()), code


def not_found() -> ResponseReturnValue:
    return show_problem(problem("not-found", "No such page or file in your account."))


def page_context() -> dict[str, Any]:
    """What every template may use."""
    return {"csrf_token": csrf_token}
