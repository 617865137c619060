"""The batch endpoint (``POST /batch``, the document's ``batchPath``), as Google's front end
answers googleapiclient's ``new_batch_http_request()``.

Google's batching guide: the body is ``multipart/mixed``; each part is ``application/http``
holding one request (request line, headers, body) and a ``Content-ID``. The headers of the
outer request (but its ``Content-*`` ones) apply to every part unless the part sets them. The
answer is ``multipart/mixed`` as well, one ``application/http`` part per request, in order,
each with its own status line, and ``Content-ID: <response-ID>`` for the part's ``<ID>``. At
most 1000 parts; batches do not nest.

Each part is answered as the same request sent alone would be (scripted faults that answer
with a status, a body or a redirect included); faults that act on a connection (``drop``,
``latency``, ``stall``, ...) do not apply inside a batch, where there is no connection of the
part's own.
"""

from __future__ import annotations

import email.parser
import email.policy
import secrets
from collections.abc import Callable
from email.message import Message

from picker_discovery.testing._api_errors import ApiError
from picker_discovery.testing._http import Payload, Request, Response

__all__ = ["MAX_PARTS", "answer_batch"]

MAX_PARTS = 1000


def _bad(message: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", message)


def _parts(request: Request) -> list[tuple[str, Request]]:
    """The requests a batch holds, each with its Content-ID (without the angle brackets)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/mixed") or "boundary" not in content_type:
        raise _bad("A batch request must be multipart/mixed with a boundary.")
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + request.body)
    payload = message.get_payload()
    if not message.is_multipart() or not isinstance(payload, list) or not payload:
        raise _bad("The batch request holds no requests.")
    if len(payload) > MAX_PARTS:
        raise _bad(f"A batch may hold at most {MAX_PARTS} requests, not {len(payload)}.")
    outer = {k: v for k, v in request.headers.items() if not k.startswith("content-")}
    outer.pop("host", None)
    found: list[tuple[str, Request]] = []
    for index, part in enumerate(payload, 1):
        if not isinstance(part, Message) or part.get_content_type() != "application/http":
            raise _bad(f"Part {index} of the batch is not application/http.")
        content_id = (part.get("Content-ID") or "").strip().strip("<>")
        found.append((content_id, _inner(part, outer, request.origin, index)))
    return found


def _inner(part: Message, outer: dict[str, str], origin: str, index: int) -> Request:
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(part.get_payload())
    request_line, _, rest = text.lstrip("\r\n").partition("\n")
    pieces = request_line.strip().split(" ")
    if len(pieces) != 3 or not pieces[1].startswith("/") or not pieces[2].startswith("HTTP/"):
        raise _bad(f"Part {index} of the batch does not start with a request line.")
    method, target, _ = pieces
    if target.split("?")[0].rstrip("/") == "/batch":
        raise _bad("Batch requests cannot be nested.")
    inner = email.parser.Parser(policy=email.policy.compat32).parsestr(rest)
    headers = dict(outer)
    headers.update({k.lower(): v for k, v in inner.items()})
    body = inner.get_payload()
    data = body.encode("utf-8") if isinstance(body, str) else b""
    return Request(method.upper(), target, headers, data, origin)


def answer_batch(request: Request, handle: Callable[[Request], Response]) -> Response:
    """Answer a batch: each part through ``handle``, all in one ``multipart/mixed``."""
    boundary = f"batch_{secrets.token_urlsafe(12)}"
    chunks: list[bytes] = []
    for content_id, inner in _parts(request):
        response = handle(inner)
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        lines += [f"{name}: {value}" for name, value in response.headers.items()]
        body = response.body
        lines.append(f"Content-Length: {len(body)}")
        part_head = [f"--{boundary}", "Content-Type: application/http"]
        if content_id:
            part_head.append(f"Content-ID: <response-{content_id}>")
        chunks.append(
            ("\r\n".join(part_head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode()
            + body
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(
        200,
        {"Content-Type": f"multipart/mixed; boundary={boundary}"},
        Payload.of(b"".join(chunks)),
    )


def _reason(status: int) -> str:
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
