"""Google's ``fields=`` syntax: what a mask selects, and which masks are refused."""

from __future__ import annotations

from typing import Any

import pytest

from picker_discovery import _discovery as discovery
from picker_discovery.testing._api_errors import ApiError
from picker_discovery.testing._fields import check_mask, parse_mask, select

SCHEMAS = discovery.load_document()[0]["schemas"]
PAGE: dict[str, Any] = {
    "mediaItems": [
        {"id": "a", "type": "PHOTO", "mediaFile": {"mimeType": "image/jpeg", "filename": "a"}},
        {"id": "b", "type": "VIDEO", "mediaFile": {"mimeType": "video/mp4", "filename": "b"}},
    ],
    "nextPageToken": "t",
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("nextPageToken", {"nextPageToken": "t"}),
        ("*", PAGE),
        ("mediaItems/id", {"mediaItems": [{"id": "a"}, {"id": "b"}]}),
        (
            "mediaItems(id,type)",
            {"mediaItems": [{"id": "a", "type": "PHOTO"}, {"id": "b", "type": "VIDEO"}]},
        ),
        (
            "mediaItems(mediaFile/mimeType),nextPageToken",
            {
                "mediaItems": [
                    {"mediaFile": {"mimeType": "image/jpeg"}},
                    {"mediaFile": {"mimeType": "video/mp4"}},
                ],
                "nextPageToken": "t",
            },
        ),
        ("mediaItems/id,mediaItems", {"mediaItems": PAGE["mediaItems"]}),  # the whole wins
        (
            "mediaItems/id,mediaItems/type",
            {"mediaItems": [{"id": "a", "type": "PHOTO"}, {"id": "b", "type": "VIDEO"}]},
        ),
        (" mediaItems / id ", {"mediaItems": [{"id": "a"}, {"id": "b"}]}),
    ],
)
def test_a_mask_selects_what_google_would(fields: str, expected: Any) -> None:
    mask = parse_mask(fields)
    check_mask(mask, "ListMediaItemsResponse", SCHEMAS, fields)
    assert select(PAGE, mask) == expected


@pytest.mark.parametrize(
    "fields",
    [
        "",
        ",",
        "a,",
        "(id)",
        "mediaItems()",
        "mediaItems(id",
        "mediaItems/",
        "id)",
        "a b",
        "x" * 3000,
    ],
)
def test_a_malformed_mask_is_refused(fields: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_mask(fields)
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "fields",
    ["items", "mediaItems/name", "nextPageToken/x", "mediaItems(mediaFile(url))", "*/nope"],
)
def test_a_mask_naming_what_the_schema_lacks_is_refused(fields: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_mask(parse_mask(fields), "ListMediaItemsResponse", SCHEMAS, fields)
    details = caught.value.body()["error"]["details"]
    assert details[0]["fieldViolations"][0]["field"] == fields
