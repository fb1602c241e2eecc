"""Second factors as a user's devices produce them."""

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

from ..models import User

# A code made in the last seconds of its 30-second period may reach the server in the next
# one, which refuses it: the tests wait those seconds out instead.
PERIOD_MARGIN = 2


def totp(secret: str) -> str:
    """The code an authenticator app shows now for `secret` (RFC 6238: SHA-1, 30 s, 6 digits),
    computed here rather than by allauth, as a phone would."""
    if (left := 30 - time.time() % 30) < PERIOD_MARGIN:
        time.sleep(left)
    counter = int(time.time() // 30)
    digest = hmac.new(base64.b32decode(secret), counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def authenticator_app(user: User) -> str:
    """Turn an authenticator app on for `user`, as the setup page does; the app's secret."""
    secret: str = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def recovery_codes(user: User) -> list[str]:
    """The recovery codes `user` was given and has not used yet."""
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    unused: list[str] = codes.wrap().get_unused_codes()
    return unused


class Passkey:
    """One credential on a software authenticator, answering the browser's WebAuthn calls as a
    phone or a security key would: a P-256 key pair made here, the user present and verified.

    `origin` is the page's, as the browser reports it; the relying party is its host.
    """

    FLAGS = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.rp_id_hash = hashlib.sha256(str(urlsplit(origin).hostname).encode()).digest()
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.id = websafe_encode(secrets.token_bytes(32))
        self.user_handle = ""
        self.counter = 0

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create(options): a new credential, with "none" attestation."""
        public_key = options["publicKey"]
        self.user_handle = public_key["user"]["id"]
        client_data = self._client_data(CollectedClientData.TYPE.CREATE, public_key)
        credential = AttestedCredentialData.create(
            Aaguid.NONE, websafe_decode(self.id), ES256.from_cryptography_key(self.key.public_key())
        )
        data = AuthenticatorData.create(
            self.rp_id_hash, self.FLAGS | AuthenticatorData.FLAG.AT, self.counter, credential
        )
        attestation = AttestationObject.create("none", data, {})
        return self._credential(
            {"clientDataJSON": client_data.b64, "attestationObject": websafe_encode(attestation)},
            {"credProps": {"rk": True}},
        )

    def get(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.get(options): an assertion signed with the credential's key."""
        self.counter += 1
        client_data = self._client_data(CollectedClientData.TYPE.GET, options["publicKey"])
        data = AuthenticatorData.create(self.rp_id_hash, self.FLAGS, self.counter)
        signature = self.key.sign(data + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return self._credential(
            {
                "clientDataJSON": client_data.b64,
                "authenticatorData": websafe_encode(data),
                "signature": websafe_encode(signature),
                "userHandle": self.user_handle,
            },
            {},
        )

    def _client_data(self, kind: str, public_key: dict[str, Any]) -> CollectedClientData:
        return CollectedClientData.create(kind, public_key["challenge"], self.origin)

    def _credential(self, response: dict[str, str], extensions: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "public-key",
            "id": self.id,
            "rawId": self.id,
            "response": response,
            "clientExtensionResults": extensions,
        }
