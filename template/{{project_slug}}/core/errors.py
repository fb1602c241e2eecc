"""One shape for every API error: `{"detail": ..., "code": ..., "errors": {...}}`.

Clients read `detail` (a sentence for people), `code` (a stable key for programs) and
`errors` (messages per field; empty unless the input was invalid), whatever went wrong:
a DRF exception, an unknown URL or a crash.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

API_PREFIX = "/api/"


def error_body(detail: str, code: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"detail": detail, "code": code, "errors": errors or {}}


def error_response(detail: str, code: str, status: int) -> JsonResponse:
    """An API error raised outside DRF (middleware, URL resolution, crashes)."""
    return JsonResponse(error_body(detail, code), status=status)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, headers such as Retry-After), with the body in the one shape."""
    # Django's own exceptions, as DRF's handler translates them, so they get a code too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {}
        errors = fields or {"non_field_errors": response.data}
        response.data = error_body("Invalid input.", "invalid", errors)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(str(response.data.get("detail", exc.detail)), str(code))
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Requests Django refuses before any view runs: a body over the size limit, say."""
    if request.path_info.startswith(API_PREFIX):
        return error_response("Bad request.", "bad_request", status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return error_response("Not found.", "not_found", status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return error_response("Server error.", "server_error", status=500)
    return defaults.server_error(request)
