"""Tokens and logins: short-lived, rotated, and throttled wherever a password is typed."""

from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from .factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
SESSION_LOGIN = "/api/auth/login/"
# The attempts an address gets per period, from the settings.
ATTEMPTS = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])


def test_a_refresh_token_works_once(make_api_client: Callable[[], APIClient]) -> None:
    user = UserFactory.create()
    client = make_api_client()
    first = client.post(TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD}).json()
    rotated = client.post(REFRESH, {"refresh": first["refresh"]})
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]

    replayed = client.post(REFRESH, {"refresh": first["refresh"]})
    assert replayed.status_code == 401
    assert replayed.json()["code"] == "token_not_valid"
    assert client.post(REFRESH, {"refresh": rotated.json()["refresh"]}).status_code == 200


def test_token_attempts_are_throttled(api_client: APIClient) -> None:
    wrong = {"email": "nobody@example.com", "password": "guess"}
    statuses = {api_client.post(TOKEN, wrong).status_code for _ in range(ATTEMPTS)}
    assert statuses == {401}
    response = api_client.post(TOKEN, wrong)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_login_form_attempts_are_throttled(client: Client) -> None:
    wrong = {"username": "nobody@example.com", "password": "guess"}
    statuses = {client.post(SESSION_LOGIN, wrong).status_code for _ in range(ATTEMPTS)}
    assert statuses == {200}  # the form again, with its error
    response = client.post(SESSION_LOGIN, wrong)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_throttled_addresses_cannot_log_in_even_with_the_right_password(client: Client) -> None:
    user = UserFactory.create()
    for _ in range(ATTEMPTS):
        client.post(SESSION_LOGIN, {"username": user.email, "password": "guess"})
    right = {"username": user.email, "password": DEFAULT_PASSWORD}
    assert client.post(SESSION_LOGIN, right).status_code == 429


def test_the_admin_login_is_throttled(client: Client) -> None:
    login, wrong = reverse("admin:login"), {"username": "x@example.com", "password": "guess"}
    assert {client.post(login, wrong).status_code for _ in range(ATTEMPTS)} == {200}
    assert client.post(login, wrong).status_code == 429
