"""The control API of the fake service under ``/_control/``: tests in other processes seed the
library, pick, expire, advance the clock, script faults and read the attempt log through it.

Control endpoints (JSON in, JSON out)::

    POST   /_control/reset                {}  (OAuth clients and test users stay)
    POST   /_control/seed                 {"token", "seed"?, "count"?, "has_photos_account"?,
                                           "has_picker_scope"?}
    POST   /_control/processing           {"token", "id", "status": "READY" | ...}
    POST   /_control/pick                 {"session_id", "ids"? | "first"? | "all"?}
    POST   /_control/expire               {"session_id", "what": "session" | "base_urls"}
    POST   /_control/advance              {"seconds"}
    POST   /_control/config               {any BackendConfig field: value}
    POST   /_control/faults               {"method", "item"?, "faults": [503, {"status": 503,
                                            "retry_after": 1}, {"drop": true}, null, ...]}
                                           (for "media" also {"short_range": 4096},
                                            {"size_delta": 100}, {"hide_total": true},
                                            {"ignore_range": true}, {"range_shift": 1},
                                            {"no_accept_ranges": true},
                                            {"etag": "\"v2\""});
                                           any method ("discovery" too): {"stall": 30}
                                            (half the body, then nothing for 30 s),
                                            {"drop_after": 4096}, {"no_length": true},
                                            {"length_delta": 10},
                                            {"redirect": "/ppa/KEY=dv",
                                             "redirect_status": 307},
                                            {"body": "text", "status": 404,
                                             "content_type": "text/plain"},
                                            {"content_type": "text/html"}
    DELETE /_control/faults
    GET    /_control/attempts             -> {"attempts": [{"method", "httpMethod", "path",
                                               "time", "monotonic", "sent", ...}]}
    DELETE /_control/attempts
    GET    /_control/sessions             -> {"sessions": [...]}
    GET    /_control/library?token=...    -> {"mediaItems": [{"id", "filename", ...}]}
    POST   /_control/clients              {"client_id"?, "client_secret"?, "redirect_uris"?,
                                           "javascript_origins"?, "kind"?: "web" | "installed"}
                                           -> Google's client secrets: {"web": {"client_id",
                                              "client_secret", "auth_uri", "token_uri",
                                              "redirect_uris", "javascript_origins"}}
    POST   /_control/users                {"email", "name"?}  (a test user of the consent page)

The OAuth settings go through ``/_control/config`` too: ``{"auth": "strict",
"access_token_lifetime": "60s", "cors_origins": ["http://localhost:5000"]}``. A user signed in
through the OAuth endpoints is keyed by email: ``/_control/library?token=alice@example.com``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from picker_discovery.testing import library
from picker_discovery.testing._http import Request, Response, _json
from picker_discovery.testing.backend import Backend, BackendConfig, format_time


def control(backend: Backend, request: Request) -> Response:
    """Answer one ``/_control/`` request; a bad request gets a JSON 400 that says why."""
    action = request.path[len("/_control/") :]
    try:
        args = json.loads(request.body) if request.body.strip() else {}
        if not isinstance(args, dict):
            raise ValueError("send a JSON object")
        return _control_action(backend, action, request.method, args, request)
    except KeyError as exc:
        # A bare key is a field missing from the request; the backend's KeyErrors are
        # sentences ("no session ...").
        what = str(exc.args[0]) if exc.args else ""
        message = what if " " in what else f"missing field {what!r}"
        return _json(400, {"error": {"message": message, "action": action}})
    except (ValueError, TypeError) as exc:
        return _json(400, {"error": {"message": str(exc), "action": action}})


def _control_action(
    backend: Backend, action: str, verb: str, args: dict[str, Any], request: Request
) -> Response:
    if (action, verb) == ("reset", "POST"):
        backend.reset()
        return _json(200, {})
    if (action, verb) == ("seed", "POST"):
        items = backend.seed_library(
            str(args["token"]),
            seed=args.get("seed"),
            count=args.get("count"),
            has_photos_account=bool(args.get("has_photos_account", True)),
            has_picker_scope=bool(args.get("has_picker_scope", True)),
        )
        return _json(200, {"mediaItems": [_library_json(i) for i in items]})
    if (action, verb) == ("clients", "POST"):
        client = backend.oauth.register_client(
            _optional_text(args, "client_id"),
            _optional_text(args, "client_secret"),
            redirect_uris=_texts(args, "redirect_uris"),
            javascript_origins=_texts(args, "javascript_origins"),
            kind=str(args.get("kind", "web")),
        )
        return _json(200, client.config(backend.config.api_root))
    if (action, verb) == ("users", "POST"):
        user = backend.oauth.add_test_user(str(args["email"]), _optional_text(args, "name"))
        return _json(200, {"email": user.email, "name": user.name, "sub": user.sub})
    if (action, verb) == ("library", "GET"):
        token = request.query.get("token", [""])[-1]
        if not token:
            raise ValueError("name the user: /_control/library?token=...")
        return _json(200, {"mediaItems": [_library_json(i) for i in backend.library(token)]})
    if (action, verb) == ("processing", "POST"):
        item = backend.set_processing_status(
            str(args["token"]), str(args["id"]), str(args["status"])
        )
        return _json(200, _library_json(item))
    if (action, verb) == ("pick", "POST"):
        ids = args.get("ids")
        first = None if args.get("all") else args.get("first")
        picked = backend.pick(str(args["session_id"]), ids, first=first)
        return _json(200, {"picked": picked})
    if (action, verb) == ("expire", "POST"):
        what = args.get("what", "session")
        if what == "session":
            backend.expire_session(str(args["session_id"]))
        elif what == "base_urls":
            backend.expire_base_urls(str(args["session_id"]))
        else:
            raise ValueError("what must be 'session' or 'base_urls'")
        return _json(200, {})
    if (action, verb) == ("advance", "POST"):
        return _json(200, {"now": format_time(backend.advance(float(args["seconds"])))})
    if (action, verb) == ("config", "POST"):
        names = {f.name for f in dataclasses.fields(BackendConfig)}
        unknown = set(args) - names
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        config = backend.configure(**args)
        return _json(200, {k: str(v) for k, v in dataclasses.asdict(config).items()})
    if (action, verb) == ("faults", "POST"):
        scoped = args.get("item")
        backend.set_faults(
            str(args["method"]),
            list(args.get("faults", [])),
            item_id=None if scoped is None else str(scoped),
        )
        return _json(200, {"pending": backend.pending_faults()})
    if (action, verb) == ("faults", "DELETE"):
        backend.clear_faults()
        return _json(200, {})
    if (action, verb) == ("attempts", "GET"):
        return _json(200, {"attempts": [a.to_json() for a in backend.attempts()]})
    if (action, verb) == ("attempts", "DELETE"):
        backend.clear_attempts()
        return _json(200, {})
    if (action, verb) == ("sessions", "GET"):
        sessions = [
            {
                "id": s.id,
                "mediaItemsSet": s.media_items_set,
                "expireTime": format_time(s.expire_time),
                "picked": s.picked,
            }
            for s in backend.sessions()
        ]
        return _json(200, {"sessions": sessions})
    return _json(404, {"error": {"message": f"no control action {verb} {action!r}"}})


def _optional_text(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return value


def _texts(args: dict[str, Any], name: str) -> list[str]:
    value = args.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of URLs")
    return value


def _library_json(item: library.MediaItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "filename": item.filename,
        "mimeType": item.mime_type,
        "type": item.type,
        "size": item.size,
        "processingStatus": item.processing_status if item.is_video else None,
    }
