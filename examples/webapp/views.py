"""The pages: home (sign in, or import and the imports so far), starting an import, an
import's page (and its JSON for the page's script), and the imported files, served to their
owner only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, send_file, session, url_for
from flask.typing import ResponseReturnValue

from examples.webapp.problems import Problem, problem, problem_for
from examples.webapp.web import (
    csrf_ok,
    current_user,
    not_found,
    show_problem,
    state,
    wants_json,
)
from picker_discovery.errors import PickerError, SignInRequired

__all__ = ["blueprint"]

blueprint = Blueprint("views", __name__)

AUTOCLOSE = "/autoclose"  # the picking tab closes itself when the person is done
KINDS = ("original", "thumbnail")


@blueprint.get("/")
def home() -> ResponseReturnValue:
    user = current_user()
    imports = state().storage.records(user.id) if user is not None else []
    return render_template("home.html", user=user, imports=imports)


@blueprint.post("/imports")
def start_import() -> ResponseReturnValue:
    if not csrf_ok():
        return show_problem(problem("bad-form", "The import form carried no valid token."))
    user = current_user()
    if user is None:
        return show_problem(problem("signin-required", "Nobody is signed in in this browser."))
    try:
        record = state().importer.start(user.id)
    except SignInRequired as exc:
        session.pop("user_id", None)
        return show_problem(problem_for(exc))
    except PickerError as exc:
        return show_problem(problem_for(exc))
    page = url_for("views.show_import", import_id=record["id"])
    if wants_json():
        return jsonify(_status(record) | {"url": page}), 201
    return redirect(page, code=303)


@blueprint.get("/imports/<import_id>")
def show_import(import_id: str) -> ResponseReturnValue:
    user = current_user()
    if user is None:
        return show_problem(problem("signin-required", "Sign in to see your imports."))
    record = state().storage.read_record(user.id, import_id)
    if record is None:
        return not_found()
    if wants_json():
        return jsonify(_status(record))
    if record.get("state") == "failed":
        return show_problem(Problem.from_dict(record.get("problem")), status=200)
    return render_template("import.html", user=user, record=record, status=_status(record))


@blueprint.get("/imports/<import_id>/items/<int:index>/<kind>")
def item_file(import_id: str, index: int, kind: str) -> ResponseReturnValue:
    user = current_user()
    app = state()
    record = app.storage.read_record(user.id, import_id) if user is not None else None
    items = record.get("items") if record is not None else None
    if user is None or kind not in KINDS or not isinstance(items, list):
        return not_found()
    if not 0 <= index < len(items) or not isinstance(items[index], dict):
        return not_found()
    path = app.storage.file(user.id, import_id, items[index].get(f"{kind}s"))
    if path is None:
        return not_found()
    name = items[index].get("filename") if kind == "original" else None
    response = send_file(
        path,
        as_attachment=kind == "original",
        download_name=name if isinstance(name, str) and name else path.name,
        max_age=3600,
    )
    response.cache_control.public = False  # one person's photos: no shared cache keeps them
    response.cache_control.private = True
    return response


def _status(record: dict[str, Any]) -> dict[str, Any]:
    """An import as the page's script reads it."""
    picker_uri = record.get("pickerUri")
    autoclose = None
    if record.get("state") == "waiting" and isinstance(picker_uri, str):
        autoclose = picker_uri.rstrip("/") + AUTOCLOSE
    return {
        "id": record.get("id"),
        "state": record.get("state"),
        "autocloseUri": autoclose,
        "count": len(record.get("items") or []),
        "problem": record.get("problem"),
    }
