"""Every API error has one JSON shape; pages keep HTML error pages."""

from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import RequestFactory
from rest_framework.test import APIClient

from ...accounts.tests.factories import UserFactory
from ..errors import server_error

pytestmark = pytest.mark.django_db

SHAPE = {"detail", "code", "errors"}


def test_an_unknown_api_path_is_a_json_404(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": {}}


def test_a_missing_object_is_a_json_404(make_api_client: Callable[[], APIClient]) -> None:
    client = make_api_client()
    client.force_authenticate(UserFactory.create())
    response = client.get("/api/v1/articles/999999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert set(response.json()) == SHAPE


def test_anonymous_requests_say_why_they_are_refused(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/articles/", {"title": "Anonymous"})
    assert response.status_code in {401, 403}
    assert response.json()["code"] == "not_authenticated"
    assert set(response.json()) == SHAPE


def test_invalid_input_lists_messages_per_field(make_api_client: Callable[[], APIClient]) -> None:
    client = make_api_client()
    client.force_authenticate(UserFactory.create())
    response = client.post("/api/v1/articles/", {"body": "no title"})
    assert response.status_code == 400
    body = response.json()
    assert (body["detail"], body["code"]) == ("Invalid input.", "invalid")
    assert body["errors"]["title"] == ["This field is required."]


def test_malformed_json_is_a_400_in_the_same_shape(
    make_api_client: Callable[[], APIClient],
) -> None:
    client = make_api_client()
    client.force_authenticate(UserFactory.create())
    response = client.post("/api/v1/articles/", "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert set(response.json()) == SHAPE


def test_a_body_over_the_size_limit_is_a_json_400(
    make_api_client: Callable[[], APIClient],
) -> None:
    client = make_api_client()
    client.force_authenticate(UserFactory.create())
    body = "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post("/api/v1/articles/", {"title": "Big", "body": body})
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request.", "code": "bad_request", "errors": {}}


def test_a_crash_under_the_api_is_a_json_500(rf: RequestFactory) -> None:
    response = server_error(rf.get("/api/v1/articles/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.content == b'{"detail": "Server error.", "code": "server_error", "errors": {}}'


def test_a_crash_on_a_page_keeps_the_html_error_page(rf: RequestFactory) -> None:
    response = server_error(rf.get("/somewhere/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
