"""What a test asks of a test client: whether it is signed in, and which host it talks to."""

from django.test import Client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def host(client: Client) -> str:
    """The host the client sends: a tenant's where a fixture set one, else Django's default."""
    return str(client.defaults.get("HTTP_HOST", "testserver"))
