"""The API's schema is its contract: every answer an operation gives is documented, errors
included, each in the one shape clients read."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from ...accounts.models import User
from ...accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ARTICLES = "/api/v1/articles/"
ARTICLE = "/api/v1/articles/{id}/"
TOKEN = "/api/v1/auth/token/"
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema(openapi_schema: dict[str, Any]) -> dict[str, Any]:
    """The schema /api/schema/ serves, generated once per session (conftest.py)."""
    return openapi_schema


def statuses(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return dict(schema["paths"][path][method]["responses"])


def assert_documented(schema: dict[str, Any], path: str, method: str, response: Any) -> None:
    """`response` has a status the operation documents, and a body its schema describes."""
    documented = statuses(schema, path, method)
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} answered an undocumented {status}"
    assert documented[status]["content"]["application/json"]["schema"] == ERROR
    error = schema["components"]["schemas"]["Error"]["properties"]
    body = response.json()
    assert set(body) == set(error)
    types = {"string": str, "object": dict}
    for name, value in body.items():
        assert isinstance(value, types[error[name]["type"]]), (name, value)


class TestDocumentedErrors:
    def test_a_create_documents_every_way_it_can_fail(self, schema: dict[str, Any]) -> None:
        create = statuses(schema, ARTICLES, "post")
        assert set(create) == {"201", "400", "403", "415", "422", "429", "503"}
        for status in set(create) - {"201"}:
            assert create[status]["content"]["application/json"]["schema"] == ERROR
            assert create[status]["description"]

    def test_reads_document_their_own_failures(self, schema: dict[str, Any]) -> None:
        assert set(statuses(schema, ARTICLES, "get")) == {"200", "400", "403", "429", "503"}
        assert set(statuses(schema, ARTICLE, "get")) == {"200", "403", "404", "429", "503"}
        assert set(statuses(schema, ARTICLE, "delete")) == {"204", "403", "404", "429", "503"}

    def test_publishing_documents_its_conflict(self, schema: dict[str, Any]) -> None:
        publish = statuses(schema, f"{ARTICLE}publish/", "post")
        assert set(publish) == {"200", "403", "404", "409", "429", "503"}
        assert publish["409"]["content"]["application/json"]["schema"] == ERROR

    def test_the_token_endpoint_refuses_credentials_with_a_401(
        self, schema: dict[str, Any]
    ) -> None:
        token = statuses(schema, TOKEN, "post")
        assert set(token) == {"200", "400", "401", "415", "429", "503"}
        answer = token["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert {"access", "refresh"} <= set(schema["components"]["schemas"][answer]["properties"])

    def test_waits_are_said_in_retry_after(self, schema: dict[str, Any]) -> None:
        for status in ("429", "503"):
            assert "Retry-After" in statuses(schema, ARTICLES, "post")[status]["headers"]

    def test_the_error_shape_is_one_component(self, schema: dict[str, Any]) -> None:
        error = schema["components"]["schemas"]["Error"]
        assert set(error["required"]) == {"detail", "code", "errors"}


class TestAnswersMatchTheSchema:
    """Real refusals, each with a status its operation documents and the Error shape."""

    @pytest.fixture
    def member(self, make_api_client: Callable[[], APIClient]) -> APIClient:
        client = make_api_client()
        client.force_authenticate(UserFactory.create())
        return client

    @pytest.mark.parametrize(
        ("client", "method", "url", "data", "status", "operation"),
        [
            ("member", "post", ARTICLES, {"title": ""}, 400, ARTICLES),
            ("api_client", "post", ARTICLES, {"title": "Anonymous"}, 403, ARTICLES),
            ("member", "get", f"{ARTICLES}999999/", {}, 404, ARTICLE),
            ("member", "get", ARTICLES, {"page_size": "many"}, 400, ARTICLES),
        ],
        ids=["invalid input", "no credentials", "no such article", "a bad page size"],
    )
    def test_a_refusal(
        self,
        schema: dict[str, Any],
        request: pytest.FixtureRequest,
        client: str,
        method: str,
        url: str,
        data: dict[str, str],
        status: int,
        operation: str,
    ) -> None:
        response = getattr(request.getfixturevalue(client), method)(url, data)
        assert response.status_code == status
        assert_documented(schema, operation, method, response)

    def test_a_wrong_password(self, schema: dict[str, Any], api_client: APIClient) -> None:
        user: User = UserFactory.create()
        response = api_client.post(TOKEN, {"email": user.email, "password": "wrong"})
        assert response.status_code == 401
        assert_documented(schema, TOKEN, "post", response)
