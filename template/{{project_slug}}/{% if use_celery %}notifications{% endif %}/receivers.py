"""What notifications do when other apps announce something (connected in apps.py)."""

from typing import Any

from django.db import transaction

from .tasks import notify_article_published


def queue_article_notifications(*, article_ids: list[int], using: str, **kwargs: Any) -> None:
    """Queue the notification of each published article once its publication commits.

    Not before: the worker could look for a row it cannot see yet, or one a rollback undoes.
    A broker that refuses the message costs the notification (the error is logged), never
    the publication.
    """
    for pk in article_ids:
        # A signature's bound `delay`, not a partial: a robust hook that fails is logged by
        # its __qualname__, which a partial lacks.
        transaction.on_commit(notify_article_published.si(pk).delay, using=using, robust=True)
