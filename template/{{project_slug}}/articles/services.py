"""Write operations on articles. Views, the admin and tasks call these, never the ORM directly."""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .cache import forget_lists
from .models import Article, Comment, Tag


class ArticleAlreadyPublishedError(Exception):
    """Raised when publishing an article that is already public."""


def _lists_changed() -> None:
    """Make the cached article lists stale once this write commits.

    Not before: a list cached between the write and its commit would hold the old rows.
    """
    transaction.on_commit(forget_lists)


@transaction.atomic
def article_create(
    *, author: Any, title: str, body: str = "", tags: Iterable[Tag] = (), **fields: Any
) -> Article:
    article = Article.objects.create(author=author, title=title, body=body, **fields)
    article.tags.set(tags)
    _lists_changed()
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
    _lists_changed()
    return article


def article_delete(*, article: Article) -> None:
    article.delete()
    _lists_changed()


def article_publish(*, article: Article) -> Article:
    """Make a draft public now. Publishing twice is refused so callers notice the mistake."""
    if article.is_published:
        raise ArticleAlreadyPublishedError(f"Article {article.pk} is already published.")
    article.status = Article.Status.PUBLISHED
    article.published_at = timezone.now()
    article.save(update_fields=["status", "published_at", "updated"])
    _lists_changed()
    return article


def article_publish_many(*, articles: QuerySet[Article]) -> int:
    """Publish every draft among `articles` in one query; return how many changed."""
    now = timezone.now()
    published = articles.filter(status=Article.Status.DRAFT).update(
        status=Article.Status.PUBLISHED, published_at=now, updated=now
    )
    _lists_changed()
    return published


def comment_create(*, article: Article, author: Any, body: str) -> Comment:
    comment = Comment.objects.create(article=article, author=author, body=body)
    _lists_changed()  # lists show each article's comment count
    return comment


def comment_delete(*, comment: Comment) -> None:
    comment.delete()
    _lists_changed()
