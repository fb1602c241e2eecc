"""Liveness and readiness probes.

Liveness says the process answers; readiness says it can serve traffic, so load balancers
stop routing to an instance whose database is unreachable without restarting it.
"""

import logging

from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    failing = [alias for alias in connections if not _database_answers(alias)]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})


def _database_answers(alias: str) -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("readiness check failed", extra={"database": alias}, exc_info=True)
        return False
    return True
