"""CORS on the emulator's API origin, as Google's APIs serve it, so a page on another origin
can call the API with ``fetch`` (preflight and all).

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) answers 200
with the request's origin, the methods, the requested headers (``Authorization`` included) and
a ``Max-Age``; an actual answer (errors too) carries ``Access-Control-Allow-Origin`` when the
request had an ``Origin``. The ``cors_origins`` setting restricts the origins (default: any);
a disallowed origin gets no CORS header at all, so the browser refuses the answer.
"""

from __future__ import annotations

from picker_discovery.testing._config import BackendConfig
from picker_discovery.testing._http import Payload, Request, Response

__all__ = ["ALLOW_METHODS", "MAX_AGE", "add_cors", "is_preflight", "preflight"]

ALLOW_METHODS = "DELETE,GET,HEAD,PATCH,POST,PUT"
MAX_AGE = "3600"


def is_preflight(request: Request) -> bool:
    return (
        request.method == "OPTIONS"
        and bool(request.headers.get("origin"))
        and bool(request.headers.get("access-control-request-method"))
    )


def _allowed(config: BackendConfig, request: Request) -> str | None:
    """The request's origin if it may call the API, else None."""
    origin = request.headers.get("origin", "")
    if not origin:
        return None
    if config.cors_origins is None or origin.rstrip("/") in config.cors_origins:
        return origin
    return None


def preflight(config: BackendConfig, request: Request, *, refuse: bool = False) -> Response:
    """The answer to a CORS preflight (no CORS header for an origin not allowed, nor for any
    when ``refuse``)."""
    headers = {"Content-Type": "text/html; charset=UTF-8", "Vary": "Origin"}
    origin = None if refuse else _allowed(config, request)
    if origin is not None:
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Max-Age": MAX_AGE,
            }
        )
        requested = request.headers.get("access-control-request-headers", "").strip()
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
    return Response(200, headers, Payload.of(b""))


def add_cors(config: BackendConfig, request: Request, response: Response) -> None:
    """Let the browser read an actual answer, if the request's origin is allowed."""
    origin = _allowed(config, request)
    if request.headers.get("origin"):
        vary = response.headers.get("Vary")
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
