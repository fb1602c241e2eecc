"""The token endpoint's input: the password, and the second factor's code if one is on."""

from typing import Any, cast

from django.core.exceptions import ValidationError
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from .models import User
from .second_factor import CODE_HELP, check_code


class TokenObtainSerializer(TokenObtainPairSerializer):
    """simplejwt's pair for an email and a password, and for a user who turned a second factor
    on, its code too: a password alone is not enough anywhere allauth's login is."""

    code = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text=CODE_HELP
    )
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        tokens = super().validate(attrs)
        try:
            check_code(cast(User, self.user), attrs.get("code", ""))  # authenticated above
        except ValidationError as error:
            raise exceptions.AuthenticationFailed(error.message, error.code) from error
        return tokens
