"""What the core app stores: the answers to creates made with an Idempotency-Key."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """A create sent with an Idempotency-Key header, and its answer, replayed to a retry.

    Kept in the database rather than the cache: it is written in the transaction of the
    row it created, so the two commit or vanish together, and a Redis restart or eviction
    cannot let a retry create the row again.
    """

    # Whose key it is: the tenant and the user. Two clients may pick the same key.
    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    # A digest of the request's path and body: a key reused for another request is refused.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key
