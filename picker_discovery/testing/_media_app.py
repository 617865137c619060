"""The media origin of the fake service: ``GET /ppa/{key}`` with its size suffixes
(``=w256-h256-c``, ``=d``, ``=dv``), HTTP ``Range`` support, and the media faults (short or
shifted ranges, a changed size or ETag, redirects).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from picker_discovery.testing import library
from picker_discovery.testing._http import (
    Payload,
    Request,
    Response,
    _api_error,
    _html,
    _redirect,
    google_html_error,
    parse_range,
)
from picker_discovery.testing.backend import ApiError, Backend, Fault

# The origins that serve baseUrls: the media origin, and the emulator's second one (as
# video-downloads.googleusercontent.com is to lh3), where scripted redirects can lead.
MEDIA_ORIGINS = ("media", "downloads")
_SUFFIX_RE = re.compile(r"^(?P<key>[A-Za-z0-9_-]+)(?:=(?P<opts>[A-Za-z0-9-]*))?$")


def media(backend: Backend, request: Request, fault: Fault | None = None) -> Response:
    """Answer one request to a media origin: the bytes of a baseUrl, with ``fault`` applied."""
    if request.method not in ("GET", "HEAD"):
        return _html(405, google_html_error(405, request.path))
    match = None
    if request.path.startswith("/ppa/"):
        match = _SUFFIX_RE.match(request.path[len("/ppa/") :])
    if match is None:
        return _html(404, google_html_error(404, request.path))
    try:
        item = backend.media_item_for_key(request.token, match.group("key"))
    except ApiError as exc:
        if "WWW-Authenticate" in exc.headers:  # strict mode's 401, as the API answers it
            return _api_error(exc)
        return _html(exc.code, f"<!DOCTYPE html><title>Error {exc.code}</title>{exc.message}")
    opts = match.group("opts")
    config = backend.config
    try:
        content_type, payload = media_payload(item, opts, resized_format=config.resized_format)
    except ValueError as exc:
        return _html(400, f"<!DOCTYPE html><title>Error 400</title>{html.escape(str(exc))}")
    if fault is not None and fault.redirect is not None:
        return _redirect(fault)
    root = config.video_download_root
    if root is not None and request.origin == "media" and "dv" in (opts or "").split("-"):
        # [seen] Google's =dv answers send the client on to its video host.
        location = root + request.target.lstrip("/")
        return Response(
            302,
            {"Location": location, "Content-Type": "text/html; charset=UTF-8"},
            Payload.of(b"<!DOCTYPE html><title>Moved Temporarily</title>"),
        )
    tag = opts or "base"
    if fault is not None and fault.size_delta:
        payload = _resized(payload, fault.size_delta)
        tag += f"-resized{fault.size_delta:+d}"
    headers = {
        "Content-Type": content_type,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=86400, no-transform",
        "ETag": f'"{item.id[:16]}-{tag}"',
    }
    if fault is not None:
        if fault.content_type is not None:
            headers["Content-Type"] = fault.content_type
        if fault.etag is not None:
            headers["ETag"] = fault.etag
        if fault.no_accept_ranges:
            del headers["Accept-Ranges"]
    if opts in ("d", "dv"):
        headers["Content-Disposition"] = "attachment"
    wanted = parse_range(request.headers.get("range"), payload.length)
    if_range = request.headers.get("if-range")
    # A scripted ETag is a changed file: a resume whose If-Range names another gets all of
    # it, as a 200. (A size_delta file still answers a 206 of its new size: the client
    # must notice that the total changed.)
    etag = fault.etag if fault is not None else None
    if etag is not None and if_range is not None and if_range.strip() != etag:
        wanted = None
    if fault is not None and fault.ignore_range:
        wanted = None
    if fault is not None and fault.range_shift and isinstance(wanted, tuple):
        shifted = wanted[0] + fault.range_shift
        wanted = (shifted, max(shifted, wanted[1])) if shifted < payload.length else "unsatisfiable"
    if wanted == "unsatisfiable":
        return Response(
            416,
            {"Content-Range": f"bytes */{payload.length}", "Content-Type": "text/plain"},
            Payload.of(b""),
        )
    if fault is not None and fault.short_range is not None and payload.length:
        start, end = wanted if isinstance(wanted, tuple) else (0, payload.length)
        wanted = start, min(end, start + fault.short_range)
    if isinstance(wanted, tuple):
        start, end = wanted
        total = "*" if fault is not None and fault.hide_total else str(payload.length)
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
        part = Payload(end - start, lambda s, e: payload.chunks(start + s, start + e))
        return Response(206, headers, part)
    return Response(200, headers, payload)


# [seen] What each original's resized image is served as by Google's image servers: its own
# format for the web's image formats, JPEG for the rest (HEIC, RAW, video thumbnails).
_RESIZED_FORMATS = {
    "image/jpeg": ("JPEG", "image/jpeg"),
    "image/png": ("PNG", "image/png"),
    "image/gif": ("GIF", "image/gif"),
    "image/webp": ("WEBP", "image/webp"),
}
_BOX_RE = re.compile(r"(?P<kind>[whs])(?P<size>\d{1,5})")


def media_payload(
    item: library.MediaItem, opts: str | None, *, resized_format: str = "original"
) -> tuple[str, Payload]:
    """What ``baseUrl=opts`` answers for ``item``: a content type and the bytes.

    The parameters Google documents and clients use: ``wN`` and ``hN`` (fit into the box,
    keeping the aspect ratio), ``sN`` (the longer side N), ``c`` (crop to exactly the box;
    ``p``, a "smart" crop, is a crop here), ``no`` (no play button over a video's thumbnail),
    ``d`` (the original, EXIF and all; a still image for a video) and ``dv`` (a video).
    """
    parts = [p for p in (opts or "").split("-") if p]
    box_w = box_h = None
    crop = download = video = False
    overlay = True
    for part in parts:
        sized = _BOX_RE.fullmatch(part)
        if part in ("c", "p"):
            crop = True
        elif part == "d":
            download = True
        elif part == "dv":
            video = True
        elif part == "no":
            overlay = False
        elif sized is not None:
            size = int(sized.group("size"))
            if sized.group("kind") in "ws":
                box_w = size
            if sized.group("kind") in "hs":
                box_h = size
        else:
            raise ValueError(f"unknown baseUrl parameter {part!r}")
    if video:
        if not item.is_video:
            raise ValueError("=dv is for videos; use =d to download a photo")
        if item.processing_status != "READY":
            raise ValueError(
                f"the video is {item.processing_status}, not READY: it cannot be "
                "downloaded yet (or ever, if FAILED)"
            )
        return item.mime_type, Payload(item.size, lambda s, e: library.original_chunks(item, s, e))
    fmt, content_type = _RESIZED_FORMATS.get(item.mime_type, ("JPEG", "image/jpeg"))
    if item.is_video:
        fmt, content_type = "JPEG", "image/jpeg"
    if resized_format == "png":
        fmt, content_type = "PNG", "image/png"
    if download and box_w is None and box_h is None:
        if item.is_video:  # =d on a video gives a still image, not the video
            size2 = library.fit_box(item.width, item.height, 1024, 1024)
            data = library.render_image(item, *size2, fmt="JPEG", overlay=overlay)
            return "image/jpeg", Payload.of(data)
        return item.mime_type, Payload(item.size, lambda s, e: library.original_chunks(item, s, e))
    if box_w is None and box_h is None:
        # [open] A bare baseUrl answers a default-sized image; 512 px is our choice.
        box_w = box_h = 512
    if box_w == 0 or box_h == 0:
        raise ValueError("a box side of 0 pixels cannot hold an image")
    if crop and box_w is not None and box_h is not None:
        box = (min(box_w, library.MAX_IMAGE_SIDE), min(box_h, library.MAX_IMAGE_SIDE))
    else:
        box = library.fit_box(item.width, item.height, box_w, box_h)
    return content_type, Payload.of(library.render_image(item, *box, fmt=fmt, overlay=overlay))


def _resized(payload: Payload, delta: int) -> Payload:
    """``payload`` cut, or lengthened with filler, by ``delta`` bytes (a changed file)."""
    length = max(0, payload.length + delta)
    filler = b"resized;"

    def read(start: int, end: int) -> Iterator[bytes]:
        if start < payload.length:
            yield from payload.chunks(start, min(end, payload.length))
        position = max(start, payload.length)
        repeated = filler * (library.CHUNK // len(filler) + 2)
        while position < end:  # in chunks: a large delta never sits in memory whole
            skip = position % len(filler)
            piece = repeated[skip : skip + min(library.CHUNK, end - position)]
            yield piece
            position += len(piece)

    return Payload(length, read)
