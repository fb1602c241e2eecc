"""One shape for every API error: `{"detail": ..., "code": ..., "errors": {...}}`.

Clients read `detail` (a sentence for people), `code` (a stable key for programs) and
`errors` (messages per field; empty unless the input was invalid), whatever went wrong:
a DRF exception, an unknown URL, an unreachable database or a crash.

While the database is unreachable (a managed PostgreSQL restarting, a failover) requests
that need it answer 503 with Retry-After rather than 500, so clients and load balancers
retry, and the log says so once per outage instead of a traceback per request.
"""

import logging
import threading
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# What a lost or refused database connection raises: the server restarting or failing over,
# a connection it closed, the connection pool timing out.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
# Seconds clients wait before retrying: a managed PostgreSQL restarts in a few seconds.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The service is briefly unavailable: retry in a few seconds."
    default_code = "database_unavailable"
    wait = RETRY_AFTER_SECONDS  # DRF's handler turns it into Retry-After


class _Outage:
    """Whether this process has logged the current outage; a new connection ends it."""

    lock = threading.Lock()
    logged = False


def log_database_unreachable(error: Exception) -> None:
    with _Outage.lock:  # one record per outage, whichever thread fails first
        if _Outage.logged:
            return
        _Outage.logged = True
    logger.warning("The database is unreachable: answering 503 until it is back (%s)", error)


def database_reachable(**kwargs: Any) -> None:
    """Receiver of connection_created: a connection was made, so the outage is over."""
    _Outage.logged = False


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
    elif isinstance(exc, DATABASE_UNREACHABLE):
        log_database_unreachable(exc)
        exc = DatabaseUnavailable()
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


# No template: rendering one may need what is missing (a context processor's query).
UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="en"><title>Service unavailable</title>'
    "<h1>Service unavailable</h1><p>Please try again in a few seconds.</p></html>"
)


def database_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    """The answer of a request outside DRF that found the database unreachable."""
    log_database_unreachable(error)
    if request.path_info.startswith(API_PREFIX):
        response: HttpResponse = error_response(
            DatabaseUnavailable.default_detail, DatabaseUnavailable.default_code, status=503
        )
    else:
        response = HttpResponse(UNAVAILABLE_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
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
