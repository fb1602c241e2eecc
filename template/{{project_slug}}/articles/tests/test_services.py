import pytest
from django.db import IntegrityError, transaction

from ..models import Article
from ..services import ArticleAlreadyPublishedError, article_publish
from .factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_publish_sets_status_and_date() -> None:
    article = article_publish(article=ArticleFactory.create())
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert article.published_at is not None


def test_publish_refuses_a_published_article() -> None:
    with pytest.raises(ArticleAlreadyPublishedError):
        article_publish(article=ArticleFactory.create(published=True))


def test_database_refuses_a_published_article_without_a_date() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleFactory.create(status=Article.Status.PUBLISHED, published_at=None)
