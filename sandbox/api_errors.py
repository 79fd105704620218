"""Twilio's error bodies: `{"code", "message", "more_info", "status"}`, raised as `ApiError` by handlers."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"

# Codes the sandbox uses, named after what they mean.
AUTHENTICATE = 20003
NOT_FOUND = 20404
METHOD_NOT_ALLOWED = 20004
INVALID_PARAMETER = 20001


class ApiError(Exception):
    """A request the sandbox refuses, exactly as Twilio would: HTTP status, Twilio error code, message."""

    def __init__(self, status: int, code: int, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """The JSON body Twilio sends for this error."""
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO.format(code=self.code),
            "status": self.status,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def response(self) -> JSONResponse:
        """The HTTP response for this error."""
        return JSONResponse(self.body(), status_code=self.status)


def authenticate() -> ApiError:
    """401 / 20003: missing or wrong credentials, or an account SID in the path that is not theirs."""
    return ApiError(401, AUTHENTICATE, "Authenticate", detail="Your AccountSid or AuthToken was incorrect.")


def not_found(path: str) -> ApiError:
    """404 / 20404, with Twilio's wording."""
    return ApiError(404, NOT_FOUND, f"The requested resource {path} was not found")


def method_not_allowed(method: str) -> ApiError:
    """405 / 20004."""
    return ApiError(405, METHOD_NOT_ALLOWED, f"Method not allowed: {method}")


def bad_request(code: int, message: str) -> ApiError:
    """400 with the given Twilio error code."""
    return ApiError(400, code, message)


def invalid_parameter(name: str, value: str, why: str) -> ApiError:
    """400 / 20001 for a parameter value the sandbox cannot use."""
    return ApiError(400, INVALID_PARAMETER, f"Invalid {name}: {value!r} {why}")
