"""The fake service's error answers: google.rpc statuses, their HTTP codes, Google's JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from picker_discovery._errorbase import PickerError

__all__ = [
    "DOMAIN",
    "SERVICE",
    "STATUS_CODES",
    "ApiError",
    "quota_exceeded",
    "service_disabled",
    "status_for_code",
]

# HTTP code of each google.rpc status, and the status given to a bare HTTP code.
STATUS_CODES: Mapping[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_STATUS_FOR_CODE: Mapping[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# ErrorInfo's domain: Google's front end reports its errors (quota, a disabled API, a token
# without the scope) under googleapis.com, the service in the metadata. [open] The service's own
# reasons (TOO_MANY_SESSIONS, ours) use it too: no real body of one has been seen.
DOMAIN = "googleapis.com"
SERVICE = "photospicker.googleapis.com"
SERVICE_TITLE = "Google Photos Picker API"
# google.rpc.Code numbers, for the bare bodies some endpoints answer ({"code": 16, ...}).
RPC_CODES: Mapping[str, int] = {
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}
JSON_TYPE = "application/json; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"


def status_for_code(code: int) -> str:
    """The google.rpc status Google gives an HTTP code (``UNKNOWN`` for codes it has no name)."""
    return _STATUS_FOR_CODE.get(code, "INTERNAL" if code >= 500 else "UNKNOWN")


class ApiError(PickerError):
    """An error answer of the fake service, in Google's JSON shape."""

    def __init__(
        self,
        status: str,
        message: str,
        *,
        code: int | None = None,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
        metadata: Mapping[str, str] | None = None,
        bare: bool = False,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.code = code if code is not None else STATUS_CODES.get(status, 500)
        self.message = message
        self.reason = reason
        self.headers: dict[str, str] = dict(headers or {})
        self.details = details
        self.metadata = dict(metadata or {})
        # Not wrapped in "error", with the gRPC code, and served as text/html: as some of
        # Google's endpoints answer a 401 (seen in public reports).
        self.bare = bare

    @property
    def content_type(self) -> str:
        return HTML_TYPE if self.bare else JSON_TYPE

    def body(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "status", "details"?}}`` (bare: ``{"code": 16,
        "message"}``)."""
        if self.bare:
            return {"code": RPC_CODES.get(self.status, 2), "message": self.message}
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details is not None:
            error["details"] = self.details
        elif self.reason:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": self.reason,
                    "domain": DOMAIN,
                    "metadata": {"service": SERVICE, **self.metadata},
                }
            ]
        return {"error": error}


def quota_exceeded(
    project: str, message: str | None = None, retry_after: float | None = None
) -> ApiError:
    """The 429 of a project over its quota, in the shape Google's front end sends: an
    ErrorInfo ``RATE_LIMIT_EXCEEDED`` with the quota metadata, and a Help link.

    [open] The Picker API's metric and limit names are unpublished; these follow Google's
    pattern for its 100,000 requests per minute per project. ``Retry-After`` only when asked:
    Google's quota answers do not carry one.
    """
    limit = "RequestsPerMinutePerProject"
    metric = f"{SERVICE}/requests"
    text = message or (
        f"Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
        f"'{SERVICE}' for consumer 'project_number:{project}'."
    )
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": DOMAIN,
            "metadata": {
                "quota_metric": metric,
                "quota_limit": limit,
                "quota_limit_value": "100000",
                "consumer": f"projects/{project}",
                "service": SERVICE,
                "quota_location": "global",
            },
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [
                {
                    "description": "Request a higher quota limit.",
                    "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                }
            ],
        },
    ]
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return ApiError("RESOURCE_EXHAUSTED", text, details=details, headers=headers)


def service_disabled(project: str) -> ApiError:
    """The 403 of a project that has not enabled the API, with its full details (an ErrorInfo
    ``SERVICE_DISABLED`` with the activation URL, a LocalizedMessage and a Help link), as in
    public reports of Google's answers."""
    url = f"https://console.developers.google.com/apis/api/{SERVICE}/overview?project={project}"
    short = f"{SERVICE_TITLE} has not been used in project {project} before or it is disabled."
    message = (
        f"{short} Enable it by visiting {url} then retry. If you enabled this API recently, "
        "wait a few minutes for the action to propagate to our systems and retry."
    )
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "SERVICE_DISABLED",
            "domain": DOMAIN,
            "metadata": {
                "consumer": f"projects/{project}",
                "service": SERVICE,
                "serviceTitle": SERVICE_TITLE,
                "containerInfo": project,
                "activationUrl": url,
            },
        },
        {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            "locale": "en-US",
            "message": message,
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{"description": "Google developers console API activation", "url": url}],
        },
    ]
    return ApiError("PERMISSION_DENIED", message, details=details)
