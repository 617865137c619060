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

The control API has no authentication, so it guards against the web pages a developer has
open: it answers only requests addressed to the emulator itself (a ``Host`` that is an IP
address, ``localhost`` or the API root's host, on its port; a page on another site whose name
resolves to this machine, a DNS rebinding attack, is refused with a 403), and a request that
changes anything must say ``Content-Type: application/json`` or carry an
``X-Emulator-Control`` header, which no cross-site form or simple ``fetch`` can send (else a
415). Its answers carry no CORS header, and a CORS preflight for it is refused. Numbers must
be finite and in range (``NaN``, ``Infinity``, ``1e999``, a negative count are a 400), and a
refused request changes nothing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import math
import urllib.parse
from typing import Any

from picker_discovery.testing import library
from picker_discovery.testing._http import Request, Response, _json
from picker_discovery.testing.backend import Backend, BackendConfig, format_time

CONTROL_HEADER = "x-emulator-control"
MAX_ADVANCE = 100 * 366 * 86400.0  # a century: the fake clock cannot pass year 9999
MAX_LIBRARY = 100_000


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number the control API accepts; send a finite number")


def _own_host(api_root: str, host: str) -> bool:
    """Whether ``host`` (a Host header) names this emulator: an IP address, ``localhost`` or
    the API root's host, on the API root's port. A DNS name resolving here does not."""
    root = urllib.parse.urlsplit(api_root)
    try:
        parts = urllib.parse.urlsplit(f"//{host}")
        port = parts.port
    except ValueError:
        return False
    name = (parts.hostname or "").lower()
    if parts.username is not None or parts.path or not name:
        return False
    default = 443 if root.scheme == "https" else 80
    if (port or default) != (root.port or default):
        return False
    if name in ("localhost", (root.hostname or "").lower()):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def refusal(backend: Backend, request: Request) -> Response | None:
    """The answer refusing a control request a web page could have sent, else None."""
    host = request.headers.get("host")
    if host is not None and not _own_host(backend.config.api_root, host):
        return _json(
            403,
            {
                "error": {
                    "message": f"Host {host!r} is not this emulator's address "
                    f"({backend.config.api_root}): the control API answers only requests "
                    "addressed to it by IP address or localhost"
                }
            },
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if (
        request.method not in ("GET", "HEAD")
        and content_type != "application/json"
        and not request.headers.get(CONTROL_HEADER)
    ):
        return _json(
            415,
            {
                "error": {
                    "message": f"send {request.method} /_control/... with Content-Type: "
                    "application/json (or an X-Emulator-Control: 1 header); a form post or "
                    "a simple cross-site request cannot drive the emulator"
                }
            },
        )
    return None


def control(backend: Backend, request: Request) -> Response:
    """Answer one ``/_control/`` request; a bad request gets a JSON 400 that says why."""
    action = request.path[len("/_control/") :]
    refused = refusal(backend, request)
    if refused is not None:
        return refused
    try:
        args = (
            json.loads(request.body, parse_float=_finite, parse_constant=_no_constant)
            if request.body.strip()
            else {}
        )
        if not isinstance(args, dict):
            raise ValueError("send a JSON object")
        return _control_action(backend, action, request.method, args, request)
    except KeyError as exc:
        # A bare key is a field missing from the request; the backend's KeyErrors are
        # sentences ("no session ...").
        what = str(exc.args[0]) if exc.args else ""
        message = what if " " in what else f"missing field {what!r}"
        return _json(400, {"error": {"message": message, "action": action}})
    except (ValueError, TypeError, ArithmeticError) as exc:
        return _json(400, {"error": {"message": str(exc), "action": action}})


def _control_action(
    backend: Backend, action: str, verb: str, args: dict[str, Any], request: Request
) -> Response:
    if (action, verb) == ("reset", "POST"):
        backend.reset()
        return _json(200, {})
    if (action, verb) == ("seed", "POST"):
        count = args.get("count")
        if count is not None:
            _check_int("count", count, 0, MAX_LIBRARY)
        items = backend.seed_library(
            str(args["token"]),
            seed=args.get("seed"),
            count=count,
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
        if first is not None:
            _check_int("first", first, 0, MAX_LIBRARY)
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
        seconds = args["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError(f"seconds must be a number, not {seconds!r}")
        if not 0 <= seconds <= MAX_ADVANCE:
            raise ValueError(f"seconds must be between 0 and {MAX_ADVANCE:.0f}, not {seconds!r}")
        return _json(200, {"now": format_time(backend.advance(float(seconds)))})
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


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}")


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
