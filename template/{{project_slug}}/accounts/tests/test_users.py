import pytest
from allauth.account.models import EmailConfirmation
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from ..models import User
from .factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_create_user_normalises_email_and_hashes_password() -> None:
    user = User.objects.create_user(email="Ada@EXAMPLE.com", password="s3cret-pass")
    assert user.email == "Ada@example.com"
    assert user.check_password("s3cret-pass")
    assert not user.is_staff
    assert not user.is_superuser


def test_create_user_requires_an_email() -> None:
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user(email="", password="x")


def test_create_superuser_is_staff_and_superuser() -> None:
    admin = User.objects.create_superuser(email="root@example.com", password="x")
    assert admin.is_staff
    assert admin.is_superuser


def test_create_superuser_refuses_is_staff_false() -> None:
    with pytest.raises(ValueError, match="is_staff"):
        User.objects.create_superuser(email="root@example.com", password="x", is_staff=False)


def test_users_sign_in_with_their_email() -> None:
    user = UserFactory.create()
    assert authenticate(username=user.email, password=DEFAULT_PASSWORD) == user
    assert authenticate(username=user.email, password="wrong") is None


def test_admin_lists_and_adds_users(admin_client: Client) -> None:
    UserFactory.create(email="listed@example.com")
    changelist = admin_client.get(reverse("admin:accounts_user_changelist"))
    assert b"listed@example.com" in changelist.content

    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "new@example.com", "password1": "An0ther-pass!", "password2": "An0ther-pass!"},
    )
    assert response.status_code == 302
    assert User.objects.get(email="new@example.com").check_password("An0ther-pass!")


def test_the_admin_never_shows_the_keys_of_address_links() -> None:
    assert not admin.site.is_registered(EmailConfirmation)


def test_the_admin_never_shows_a_second_factors_secret(admin_client: Client) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    user = UserFactory.create()
    factor = Authenticator.objects.create(user=user, type="totp", data={"secret": secret})
    page = admin_client.get(reverse("admin:mfa_authenticator_change", args=[factor.pk]))
    assert page.status_code == 200
    assert user.email in page.content.decode()
    assert secret not in page.content.decode()
    assert admin_client.get(reverse("admin:mfa_authenticator_add")).status_code == 403
