"""Notification tasks: thin wrappers that call the services."""

from celery import shared_task

from ..core.tasks import Task
from . import services


@shared_task(base=Task)
def notify_article_published(article_id: int) -> int:
    return services.notify_article_published(article_id=article_id)
