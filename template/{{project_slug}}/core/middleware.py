"""Middleware shared by the whole project."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .health import healthz, readyz

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
}


class HealthCheckMiddleware:
    """Answer health probes before host validation and the HTTPS redirect.

    Load balancers probe instances by IP address over plain HTTP, which ALLOWED_HOSTS and
    SECURE_SSL_REDIRECT would otherwise turn into 400s and redirects. The probes expose
    nothing but a status, so answering them for any host is safe.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is not None and request.method in {"GET", "HEAD"}:
            return probe(request)
        return self.get_response(request)
