"""Signing in and out: the web-server flow of :class:`picker_discovery.web.WebSignIn`.

``/signin`` sends the browser to Google's consent page with a fresh ``state`` and PKCE
challenge, keeping the pending sign-in in Flask's signed session cookie; ``/oauth2callback``
hands the answer to the library, which checks the state and sends the verifier; ``/signout``
stops the user's imports, revokes the grant and deletes the stored token.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from examples.webapp.problems import problem, problem_for
from examples.webapp.web import csrf_ok, current_user, show_problem, state
from picker_discovery.errors import AccessNotGranted, BadArgument, PickerError, SignInRequired
from picker_discovery.web import PendingSignIn

__all__ = ["blueprint"]

logger = logging.getLogger(__name__)

blueprint = Blueprint("auth", __name__)


@blueprint.get("/signin")
def signin() -> ResponseReturnValue:
    url, pending = state().signin.start()
    session["pending"] = pending.to_dict()
    return redirect(url)


@blueprint.get("/oauth2callback")
def callback() -> ResponseReturnValue:
    try:
        pending = PendingSignIn.from_dict(session.pop("pending", None) or {})
    except BadArgument:
        return show_problem(
            problem(
                "signin-required",
                "This browser did not start a sign-in, or it was finished already.",
            )
        )
    try:
        user = state().signin.finish(request.url, pending)
    except (AccessNotGranted, SignInRequired) as exc:
        return show_problem(problem_for(exc))
    except PickerError as exc:
        logger.error("sign-in failed: %s", exc)
        return show_problem(problem_for(exc))
    previous_csrf = session.get("csrf")
    session.clear()  # a new person or a new sign-in: nothing of the old session carries over
    if previous_csrf is not None:
        session["csrf"] = previous_csrf
    session["user_id"] = user.id
    session["email"] = user.email
    return redirect(url_for("views.home"))


@blueprint.post("/signout")
def signout() -> ResponseReturnValue:
    if not csrf_ok():
        return show_problem(problem("bad-form", "The sign-out form carried no valid token."))
    user = current_user()
    session.clear()
    if user is None:
        return redirect(url_for("views.home"))
    app = state()
    app.importer.cancel(user.id)  # their imports delete their sessions while the token works
    try:
        app.signin.sign_out(user.id)
    except (PickerError, OSError) as exc:
        # The stored token is deleted however revocation went.
        logger.warning("revoking the grant of user %r failed: %s", user.id, exc)
        flash(
            "You are signed out here, but Google could not be told to revoke the access: "
            "remove it in your Google Account's security settings."
        )
    else:
        flash("You are signed out, and the app's access to your Google Photos was revoked.")
    return redirect(url_for("views.home"))
