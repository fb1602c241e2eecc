"""JSON Web Tokens bound to the tenant they were issued for.

A token carries its tenant's slug, and every endpoint that accepts a token checks it against
the tenant being served: a token from one tenant never works at another, even for a user
who belongs to both.
"""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.tokens import RefreshToken, Token

from .context import current_tenant
from .membership import is_member

TENANT_CLAIM = "tenant"


def check_tenant_claim(token: Token | RefreshToken) -> None:
    if token.get(TENANT_CLAIM) != current_tenant().slug:
        raise InvalidToken("This token was issued for another workspace.")


class TenantTokenObtainPairSerializer(TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user: Any) -> Token:
        token = super().get_token(user)
        token[TENANT_CLAIM] = current_tenant().slug
        return token

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)
        if not is_member(self.user):
            raise AuthenticationFailed("You are not a member of this workspace.")
        return data


class TenantTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        check_tenant_claim(self.token_class(attrs["refresh"]))
        return super().validate(attrs)


class TenantJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        token = super().get_validated_token(raw_token)
        check_tenant_claim(token)
        return token


class TenantJWTScheme(SimpleJWTScheme):
    """Describe tenant-bound tokens in the OpenAPI schema like any other JWT."""

    target_class = TenantJWTAuthentication
