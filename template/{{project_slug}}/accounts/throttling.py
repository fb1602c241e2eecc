"""Limit password attempts per client address, wherever a password is typed.

DRF's throttles guard the token endpoint and, through `throttle_login_attempts`, the login
forms (pages, the browsable API and the admin), so every entry point shares one budget per
address, counted in the cache every worker shares. django-axes would lock accounts instead,
but it needs a request in every authenticate() call (test clients, shell, commands) and,
with database tenancy, an attempts table in each tenant's database; a rate per address
stops guessing just as well without letting anyone lock a user out.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from ..core.errors import error_response


class LoginRateThrottle(SimpleRateThrottle):
    """Counts attempts per client address at the rate named "login" in the settings."""

    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttle_login_attempts[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Refuse a login form's POST with a 429 once its address is out of attempts."""

    @wraps(view)
    def throttled(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        throttle = LoginRateThrottle()
        # A form view is no API view: wrap the request the way DRF's throttles expect it.
        if request.method == "POST" and not throttle.allow_request(Request(request), APIView()):
            return too_many_attempts(throttle.wait())
        return view(request, *args, **kwargs)

    return throttled


def too_many_attempts(wait: float | None) -> HttpResponse:
    response = error_response("Too many login attempts: try again later.", "throttled", status=429)
    if wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
    return response
