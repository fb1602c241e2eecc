from typing import TYPE_CHECKING

from rest_framework import permissions

from .membership import is_member

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views is still loading.
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsTenantMember(permissions.BasePermission):
    """Only members of the tenant being served may use its API, to read or to write."""

    message = "You are not a member of this workspace."

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        return is_member(request.user)
