"""Sending notifications. Tasks call these; nothing else writes notifications."""

from django.core.mail import send_mail
from django.db import router, transaction
from django.utils import timezone

from ..accounts.models import User
from ..articles.models import Article
from .models import Notification


def recipients_of(article: Article) -> list[User]:
    """Who hears about `article`: its author, as a confirmation.

    Widen it here (followers, the tenant's members): each recipient still gets one email.
    """
    return [article.author]


def notify_article_published(*, article_id: int) -> int:
    """Email every recipient of the article once; return how many emails this call sent.

    Each recipient's claim (a Notification row) is taken and locked in a transaction that
    stays open while the email goes out: a second run waits for the first, then finds the
    email sent and sends nothing. An email that fails rolls its claim back, so a retry sends
    it. Only a crash after sending and before the commit sends an email twice: at least
    once, never lost.

    An article deleted before its task ran (or not in the task's tenant) has nobody to
    notify: the task sends nothing and succeeds, rather than failing as a fault would.
    """
    article = Article.objects.select_related("author").filter(pk=article_id).first()
    if article is None:
        return 0
    database = router.db_for_write(Notification)
    sent = 0
    for recipient in recipients_of(article):
        with transaction.atomic(using=database):
            notification, _ = Notification.objects.select_for_update().get_or_create(
                article=article, recipient=recipient
            )
            if notification.sent_at is not None:
                continue
            send_mail(
                subject=f"Published: {article.title}",
                message=f'Your article "{article.title}" is now public.',
                from_email=None,
                recipient_list=[recipient.email],
            )
            notification.sent_at = timezone.now()
            notification.save(update_fields=["sent_at"])
        sent += 1
    return sent
