"""A deterministic fake Google Photos library, and the bytes and images behind its items.

:func:`generate_library` makes the same items for the same seed every time: photos and videos
of many MIME types, some videos still ``PROCESSING`` and one ``FAILED``, sizes from a few
kilobytes to more than 200 MiB, and file names chosen to break careless code (spaces, unicode in
both normal forms, ``../`` and ``a/b.jpg`` path tricks, Windows reserved names, duplicates, very
long names, no extension, a wrong extension).

The bytes of an item are generated in chunks on demand (:func:`original_chunks`), so a 200 MiB
video can be streamed, and any byte range read, without holding it in memory. They start with a
real file header for the item's type (a small real JPEG, PNG or GIF for those photos, an ISO
media ``ftyp`` box for HEIC and videos) followed by deterministic filler.

Images (thumbnails, ``=wW-hH`` answers) are drawn with Pillow, imported only when an image is
asked for: install the ``testing`` extra (``pip install 'picker-discovery[testing]'``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from picker_discovery._errorbase import BadArgument, MissingExtra

__all__ = [
    "AWKWARD_FILENAMES",
    "MediaItem",
    "fit_box",
    "generate_library",
    "original_chunks",
    "original_header",
    "render_image",
]

MiB = 1024 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CHUNK = 64 * 1024
MAX_IMAGE_SIDE = 16383

# Names that break code which joins them to a directory, trusts them to be unique, valid on
# Windows, short, ASCII or NFC, or to end in the right extension.
AWKWARD_FILENAMES: tuple[tuple[str, str], ...] = (
    ("holiday photo 1.jpg", "image/jpeg"),
    ("caf\u00e9 \u2615 \u00e9t\u00e9.jpg", "image/jpeg"),  # NFC
    ("cafe\u0301 e\u0301te\u0301.jpg", "image/jpeg"),  # the same name in NFD
    ("../../etc/passwd.jpg", "image/jpeg"),
    ("..\\..\\Windows\\win.ini.png", "image/png"),
    ("a/b.jpg", "image/jpeg"),
    ("IMG_0001.JPG", "image/jpeg"),
    ("IMG_0001.JPG", "image/jpeg"),  # a duplicate
    ("CON.jpg", "image/jpeg"),
    ("nul.png", "image/png"),
    ("AUX.heic", "image/heic"),
    ("LPT1.gif", "image/gif"),
    ("x" * 260 + ".jpg", "image/jpeg"),
    ("\u65e5\u672c\u8a9e\u306e\u5199\u771f" * 16 + ".heic", "image/heic"),  # long in UTF-8 bytes
    (".hidden.jpg", "image/jpeg"),
    ("no extension", "image/jpeg"),
    ("really a png.jpg", "image/png"),
    ("trailing dot.", "image/jpeg"),
    (" leading and trailing spaces.png ", "image/png"),
    ("emoji \U0001f600.gif", "image/gif"),
    ('quote" star* colon: pipe| question?.jpg', "image/jpeg"),
    ("semi;colon & ampersand <tag>.jpg", "image/jpeg"),
    ("clip with spaces.MOV", "video/quicktime"),
    ("..", "image/jpeg"),
)

_PHOTO_TYPES: tuple[tuple[str, str, str], ...] = (
    ("image/jpeg", "PXL_{stamp}.jpg", "Google|Pixel 8"),
    ("image/jpeg", "IMG_{n:04d}.JPG", "Apple|iPhone 15 Pro"),
    ("image/heic", "IMG_{n:04d}.HEIC", "Apple|iPhone 15 Pro"),
    ("image/png", "Screenshot {date} at {time}.png", "|"),
    ("image/gif", "animation_{n}.gif", "|"),
    ("image/jpeg", "DSC{n:05d}.JPG", "SONY|ILCE-7M4"),
    ("image/webp", "sticker_{n}.webp", "|"),
)
_VIDEO_TYPES: tuple[tuple[str, str, str], ...] = (
    ("video/mp4", "PXL_{stamp}.mp4", "Google|Pixel 8"),
    ("video/quicktime", "IMG_{n:04d}.MOV", "Apple|iPhone 15 Pro"),
    ("video/mp4", "VID_{stamp}.mp4", "samsung|SM-S918B"),
    ("video/x-matroska", "screen recording {n}.mkv", "|"),
)
_PHOTO_SIZES = ((4032, 3024), (3024, 4032), (1170, 2532), (500, 500), (12000, 1000), (640, 480))
_VIDEO_SIZES = ((1920, 1080), (3840, 2160), (1080, 1920), (1280, 720))

MediaType = Literal["PHOTO", "VIDEO"]
ProcessingStatus = Literal["PROCESSING", "READY", "FAILED"]


@dataclass(frozen=True)
class MediaItem:
    """One item of a fake library: what the API reports about it, and its byte size."""

    id: str
    type: MediaType
    mime_type: str
    filename: str
    create_time: datetime
    width: int
    height: int
    size: int
    camera_make: str = ""
    camera_model: str = ""
    processing_status: ProcessingStatus = "READY"
    fps: float = 30.0
    photo_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_video(self) -> bool:
        return self.type == "VIDEO"

    def metadata_json(self) -> dict[str, Any]:
        """The ``mediaFileMetadata`` object the API answers for this item."""
        meta: dict[str, Any] = {"width": self.width, "height": self.height}
        if self.camera_make:
            meta["cameraMake"] = self.camera_make
        if self.camera_model:
            meta["cameraModel"] = self.camera_model
        if self.is_video:
            meta["videoMetadata"] = {"fps": self.fps, "processingStatus": self.processing_status}
        else:
            meta["photoMetadata"] = dict(self.photo_metadata)
        return meta


def _item_id(seed_text: str, index: int) -> str:
    digest = hashlib.sha256(f"{seed_text}:{index}".encode()).digest()
    digest += hashlib.sha256(digest).digest()
    return "AF" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:62]


def generate_library(seed: int | str = 0, count: int = 120) -> list[MediaItem]:
    """``count`` fake items, the same for the same ``seed``.

    The first items carry the awkward file names of :data:`AWKWARD_FILENAMES`; about a fifth
    are videos, of which every fifth is still ``PROCESSING`` and exactly one ``FAILED``; one
    video is larger than 200 MiB.
    """
    if count < 0:
        raise BadArgument(f"a library cannot have {count} items; ask for 0 or more")
    rng = random.Random(f"picker-discovery:{seed}")
    items: list[MediaItem] = []
    start = datetime(2019, 1, 1, tzinfo=timezone.utc)
    failed_done = False
    huge_done = False
    for index in range(count):
        created = start + timedelta(seconds=rng.randrange(0, 6 * 365 * 86400))
        if rng.random() < 0.5:
            created += timedelta(milliseconds=rng.randrange(1, 1000))
        awkward = AWKWARD_FILENAMES[index] if index < len(AWKWARD_FILENAMES) else None
        if awkward is not None:
            mime = awkward[1]
            is_video = mime.startswith("video/")
            make_model = "Apple|iPhone 15 Pro" if is_video else "Google|Pixel 8"
            name = awkward[0]
        else:
            is_video = index % 5 == 3
            choices = _VIDEO_TYPES if is_video else _PHOTO_TYPES
            mime, pattern, make_model = choices[rng.randrange(len(choices))]
            name = pattern.format(
                n=rng.randrange(1, 10000),
                stamp=created.strftime("%Y%m%d_%H%M%S") + f"{rng.randrange(1000):03d}",
                date=created.strftime("%Y-%m-%d"),
                time=created.strftime("%H.%M.%S"),
            )
        make, model = make_model.split("|")
        if is_video:
            width, height = _VIDEO_SIZES[rng.randrange(len(_VIDEO_SIZES))]
            status: ProcessingStatus = "READY"
            if not failed_done and index >= 8:
                status, failed_done = "FAILED", True
            elif index % 25 == 13:
                status = "PROCESSING"
            if not huge_done and status == "READY" and index >= 20:
                size, huge_done = 210 * MiB + rng.randrange(MiB), True
            else:
                size = rng.randrange(MiB, 40 * MiB)
            items.append(
                MediaItem(
                    id=_item_id(f"{seed}", index),
                    type="VIDEO",
                    mime_type=mime,
                    filename=name,
                    create_time=created,
                    width=width,
                    height=height,
                    size=size,
                    camera_make=make,
                    camera_model=model,
                    processing_status=status,
                    fps=rng.choice((24.0, 29.97, 30.0, 60.0)),
                )
            )
        else:
            width, height = _PHOTO_SIZES[rng.randrange(len(_PHOTO_SIZES))]
            photo_meta: dict[str, Any] = {}
            if make:
                photo_meta = {
                    "focalLength": rng.choice((6.9, 4.25, 24.0, 35.0)),
                    "apertureFNumber": rng.choice((2, 1.8, 2.8, 4.0)),
                    "isoEquivalent": rng.choice((50, 100, 400, 3200)),
                    "exposureTime": rng.choice(("0.033333335s", "0.008s", "1s", "0.000125s")),
                }
            items.append(
                MediaItem(
                    id=_item_id(f"{seed}", index),
                    type="PHOTO",
                    mime_type=mime,
                    filename=name,
                    create_time=created,
                    width=width,
                    height=height,
                    size=rng.randrange(64 * 1024, 12 * MiB),
                    camera_make=make,
                    camera_model=model,
                    photo_metadata=photo_meta,
                )
            )
    return items


# --- bytes -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _pattern(item_id: str) -> bytes:
    return random.Random(item_id).randbytes(CHUNK)


def _filler_block(item_id: str, block: int) -> bytes:
    """Block ``block`` (``CHUNK`` bytes) of the item's filler: cheap, deterministic, distinct."""
    pattern = _pattern(item_id)
    shift = (block * 7919) % CHUNK
    return block.to_bytes(8, "big") + pattern[shift + 8 :] + pattern[:shift]


def _ftyp(brand: bytes, compatible: Sequence[bytes]) -> bytes:
    payload = brand + (0).to_bytes(4, "big") + b"".join(compatible)
    return (8 + len(payload)).to_bytes(4, "big") + b"ftyp" + payload


def original_header(item: MediaItem) -> bytes:
    """The real file header the item's bytes start with."""
    return _header(item.id, item.mime_type, item.width, item.height, item.is_video)


@functools.lru_cache(maxsize=256)
def _header(item_id: str, mime_type: str, width: int, height: int, is_video: bool) -> bytes:
    item = MediaItem(
        item_id, "VIDEO" if is_video else "PHOTO", mime_type, "", _EPOCH, width, height, 0
    )
    if item.mime_type == "video/quicktime":
        return _ftyp(b"qt  ", [b"qt  "])
    if item.mime_type == "video/x-matroska":
        return b"\x1a\x45\xdf\xa3"  # EBML magic
    if item.is_video:
        return _ftyp(b"isom", [b"isom", b"iso2", b"avc1", b"mp41"])
    if item.mime_type == "image/heic":
        return _ftyp(b"heic", [b"mif1", b"heic"])
    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
    if item.mime_type not in fmt:
        return b""  # a type no encoder here writes (a seeded oddity): filler bytes only
    return render_image(item, *fit_box(item.width, item.height, 32, 32), fmt=fmt[item.mime_type])


def original_chunks(item: MediaItem, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The item's original bytes from ``start`` up to ``end`` (exclusive), in chunks."""
    end = item.size if end is None else min(end, item.size)
    header = original_header(item)
    position = start
    while position < end:
        if position < len(header):
            piece = header[position : min(end, len(header))]
        else:
            block, offset = divmod(position, CHUNK)
            piece = _filler_block(item.id, block)[offset : offset + (end - position)]
        yield piece
        position += len(piece)


# --- images ------------------------------------------------------------------------------------


def fit_box(width: int, height: int, box_w: int | None, box_h: int | None) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` image scaled into the box, keeping its aspect ratio.

    A missing side of the box does not constrain. The image is never scaled up (the Picker's
    behaviour for boxes larger than the original is undocumented; this is the conservative
    choice).
    """
    scale = 1.0
    if box_w is not None:
        scale = min(scale, box_w / width)
    if box_h is not None:
        scale = min(scale, box_h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _color(item_id: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(item_id.encode()).digest()
    return digest[0], digest[1], digest[2]


def render_image(
    item: MediaItem, width: int, height: int, *, fmt: str = "PNG", overlay: bool = True
) -> bytes:
    """A ``width`` x ``height`` picture standing for the item, encoded as ``fmt``.

    The picture is a diagonal band on the item's own colour, so scaled and cropped answers can
    be told apart by eye; a video's has a play button unless ``overlay`` is false.
    """
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise MissingExtra(
            "drawing fake images needs Pillow: pip install 'picker-discovery[testing]'"
        ) from exc
    width = max(1, min(width, MAX_IMAGE_SIDE))
    height = max(1, min(height, MAX_IMAGE_SIDE))
    red, green, blue = _color(item.id)
    image = Image.new("RGB", (width, height), (red, green, blue))
    draw = ImageDraw.Draw(image)
    band = max(1, min(width, height) // 4)
    draw.line([(0, 0), (width, height)], fill=(255 - red, 255 - green, 255 - blue), width=band)
    if item.is_video and overlay:
        side = max(1, min(width, height) // 3)
        cx, cy = width // 2, height // 2
        draw.polygon(
            [
                (cx - side // 2, cy - side // 2),
                (cx - side // 2, cy + side // 2),
                (cx + side // 2, cy),
            ],
            fill=(255, 255, 255),
        )
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, format="PNG", compress_level=1)
    elif fmt == "GIF":
        image.convert("P").save(out, format="GIF")
    else:
        image.save(out, format=fmt)
    return out.getvalue()
