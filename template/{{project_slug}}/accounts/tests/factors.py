"""Second factors as a user's devices produce them."""

import base64
import hashlib
import hmac
import time

from allauth.mfa.models import Authenticator

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


def recovery_codes(user: User) -> list[str]:
    """The recovery codes `user` was given and has not used yet."""
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    unused: list[str] = codes.wrap().get_unused_codes()
    return unused
