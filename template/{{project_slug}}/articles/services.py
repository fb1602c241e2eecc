"""Write operations on articles. Views, the admin and tasks call these, never the ORM directly."""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Article, Comment, Tag


class ArticleAlreadyPublishedError(Exception):
    """Raised when publishing an article that is already public."""


@transaction.atomic
def article_create(
    *, author: Any, title: str, body: str = "", tags: Iterable[Tag] = (), **fields: Any
) -> Article:
    article = Article.objects.create(author=author, title=title, body=body, **fields)
    article.tags.set(tags)
    return article


@transaction.atomic
def article_update(
    *, article: Article, tags: Iterable[Tag] | None = None, **fields: Any
) -> Article:
    for name, value in fields.items():
        setattr(article, name, value)
    article.save()
    if tags is not None:
        article.tags.set(tags)
    return article


def article_delete(*, article: Article) -> None:
    article.delete()


def article_publish(*, article: Article) -> Article:
    """Make a draft public now. Publishing twice is refused so callers notice the mistake."""
    if article.is_published:
        raise ArticleAlreadyPublishedError(f"Article {article.pk} is already published.")
    article.status = Article.Status.PUBLISHED
    article.published_at = timezone.now()
    article.save(update_fields=["status", "published_at", "updated"])
    return article


def article_publish_many(*, articles: QuerySet[Article]) -> int:
    """Publish every draft among `articles` in one query; return how many changed."""
    now = timezone.now()
    return articles.filter(status=Article.Status.DRAFT).update(
        status=Article.Status.PUBLISHED, published_at=now, updated=now
    )


def comment_create(*, article: Article, author: Any, body: str) -> Comment:
    return Comment.objects.create(article=article, author=author, body=body)
