"""The API's schema: every answer an operation can give, read from its view.

drf-spectacular documents an operation's success from its serializer. Its errors come from
the same view, so they cannot drift from the code: its input (400, 415), its authentication
(a missing or forged credential), its permissions (403), its path (404), an
`Idempotency-Key` (422), its throttles (429) and the database (503 while it restarts), each
in the one shape `core.errors` gives every error: the `Error` component. An error only the
view's own logic knows (publishing twice: 409) is declared on it with `extend_schema`.
"""

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny

from .errors import RETRY_AFTER_SECONDS

# What DRF's text fields refuse: a null character, which PostgreSQL cannot store.
NO_NULL_CHARACTER = r"^[^\x00]*$"
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before sending the request again.",
    }
}


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField(help_text="What went wrong, in a sentence for people.")
    code = serializers.CharField(help_text="What went wrong, as a stable key for programs.")
    # A field, not the serializer's `errors`: the metaclass takes fields off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        help_text="The messages of each invalid field (`non_field_errors` for the whole "
        "input); empty unless the input was invalid."
    )


class ErrorDocumentingSchema(AutoSchema):
    """drf-spectacular's schema, with the errors each operation can answer and the rules
    its text fields enforce."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for status, description in self._errors(operation).items():
            if status not in responses:
                responses[status] = self._error_response(status, description)
        return operation

    def _map_serializer_field(
        self, field: serializers.Field[Any, Any, Any, Any], direction: str, *args: Any
    ) -> dict[str, Any]:
        map_field = super()._map_serializer_field
        schema: dict[str, Any] = map_field(field, direction, *args)  # type: ignore[no-untyped-call]
        refuses = any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
        if direction == "request" and refuses and "pattern" not in schema:
            schema["pattern"] = NO_NULL_CHARACTER
        return schema

    def _errors(self, operation: dict[str, Any]) -> dict[str, str]:
        # Imported here: its views' extend_schema loads this class, so it cannot load first.
        from . import idempotency

        parameters = operation.get("parameters", [])
        errors: dict[str, str] = {}
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            errors["400"] = "The input is invalid: `errors` holds each field's messages."
        errors |= self._refusals()
        if "{" in self.path:
            errors["404"] = "There is no such object, or the user may not see it."
        if "requestBody" in operation:
            errors["415"] = "The body's media type is not one this operation reads."
        if any(p["name"] == idempotency.HEADER for p in parameters):
            errors["422"] = str(idempotency.IdempotencyKeyReused.default_detail)
        if self.view.get_throttles():
            errors["429"] = "Too many requests: wait as long as Retry-After says."
        errors["503"] = f"The database is briefly unreachable: retry in {RETRY_AFTER_SECONDS} s."
        return dict(sorted(errors.items()))

    def _refusals(self) -> dict[str, str]:
        """The 401 and 403 the view's authentication, CSRF and permissions can answer.

        DRF refuses credentials with a 401 when the view has a challenge to send back
        (WWW-Authenticate: the token endpoints have one, for the password in their body),
        else with a 403 (the session's authenticator, first, has none).
        """
        view = self.view
        authenticators = view.get_authenticators()
        credentials = "The credentials are missing, expired or invalid."
        if view.get_authenticate_header(view.request):
            refusals, forbidden = {"401": credentials}, []
        else:
            refusals, forbidden = {}, [credentials] if authenticators else []
        session = any(isinstance(auth, SessionAuthentication) for auth in authenticators)
        if session and self.method not in SAFE_METHODS:
            forbidden.append("A request signed in by session lacks its CSRF token.")
        if any(not isinstance(permission, AllowAny) for permission in view.get_permissions()):
            forbidden.append("The user may not do this here.")
        if forbidden:
            refusals["403"] = " Or: ".join(forbidden)
        return refusals

    def _error_response(self, status: str, description: str) -> dict[str, Any]:
        response: dict[str, Any] = self._get_response_for_code(  # type: ignore[no-untyped-call]
            ErrorSerializer, status
        )
        response["description"] = description
        if status in {"429", "503"}:
            response["headers"] = RETRY_AFTER
        return response
