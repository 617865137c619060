"""The fake service's error answers: google.rpc statuses, their HTTP codes, Google's JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from picker_discovery._errorbase import PickerError

__all__ = ["DOMAIN", "STATUS_CODES", "ApiError", "status_for_code"]

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
DOMAIN = "photospicker.googleapis.com"


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
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.code = code if code is not None else STATUS_CODES.get(status, 500)
        self.message = message
        self.reason = reason
        self.headers: dict[str, str] = dict(headers or {})
        self.details = details

    def body(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "status", "details"?}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details is not None:
            error["details"] = self.details
        elif self.reason:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": self.reason,
                    "domain": DOMAIN,
                    "metadata": {"service": DOMAIN},
                }
            ]
        return {"error": error}
