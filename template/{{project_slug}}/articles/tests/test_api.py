from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from ...accounts.models import User
from ...accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from ..models import Article, Comment
from .factories import ArticleFactory, CommentFactory, TagFactory

pytestmark = pytest.mark.django_db

ARTICLES = "/api/v1/articles/"


def detail(article: Article, suffix: str = "") -> str:
    return f"{ARTICLES}{article.pk}/{suffix}"


@pytest.fixture
def author() -> User:
    return UserFactory.create()


@pytest.fixture
def author_client(author: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(author)
    return client


@pytest.fixture
def other_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory.create())
    return client


def titles(response: Any) -> list[str]:
    return [item["title"] for item in response.json()["results"]]


class TestCreate:
    def test_signed_in_user_creates_a_draft_with_tags(self, author_client: APIClient) -> None:
        TagFactory.create(slug="django")
        response = author_client.post(
            ARTICLES, {"title": "Hello", "body": "World", "tags": ["django"]}
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["status"] == "draft"
        assert body["tags"] == ["django"]
        assert Article.objects.get(pk=body["id"]).tags.get().slug == "django"

    def test_anonymous_user_cannot_create(self, api_client: APIClient) -> None:
        response = api_client.post(ARTICLES, {"title": "Hello"})
        assert response.status_code in {401, 403}
        assert not Article.objects.exists()

    def test_missing_title_is_a_400_with_a_field_message(self, author_client: APIClient) -> None:
        response = author_client.post(ARTICLES, {"body": "no title"})
        assert response.status_code == 400
        assert "title" in response.json()

    def test_unknown_tag_is_a_400_with_a_field_message(self, author_client: APIClient) -> None:
        response = author_client.post(ARTICLES, {"title": "Hello", "tags": ["nope"]})
        assert response.status_code == 400
        assert "tags" in response.json()

    def test_status_cannot_be_set_directly(self, author_client: APIClient) -> None:
        response = author_client.post(ARTICLES, {"title": "Sneaky", "status": "published"})
        assert response.status_code == 201
        assert response.json()["status"] == "draft"

    def test_jwt_bearer_token_authenticates(self, api_client: APIClient, author: User) -> None:
        tokens = api_client.post(
            "/api/v1/auth/token/", {"email": author.email, "password": DEFAULT_PASSWORD}
        ).json()
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        response = api_client.post(ARTICLES, {"title": "Via JWT"})
        assert response.status_code == 201
        assert response.json()["author"] == author.email


class TestRead:
    def test_list_shows_published_articles_and_own_drafts_only(
        self, author: User, author_client: APIClient
    ) -> None:
        ArticleFactory.create(title="Public", published=True)
        ArticleFactory.create(title="Mine", author=author)
        ArticleFactory.create(title="Someone else's draft")
        assert sorted(titles(author_client.get(ARTICLES))) == ["Mine", "Public"]

    def test_anonymous_user_reads_published_articles(self, api_client: APIClient) -> None:
        article = ArticleFactory.create(published=True)
        CommentFactory.create_batch(2, article=article)
        response = api_client.get(detail(article))
        assert response.status_code == 200
        assert response.json()["comment_count"] == 2

    def test_drafts_of_others_are_not_found(self, other_client: APIClient) -> None:
        assert other_client.get(detail(ArticleFactory.create())).status_code == 404

    def test_filter_by_status_and_tag(self, author: User, author_client: APIClient) -> None:
        django = TagFactory.create(slug="django")
        ArticleFactory.create(title="Tagged", published=True, tags=[django])
        ArticleFactory.create(title="Untagged", published=True)
        ArticleFactory.create(title="Draft", author=author, tags=[django])
        assert titles(author_client.get(ARTICLES, {"tag": "django", "status": "published"})) == [
            "Tagged"
        ]

    def test_search_and_ordering(self, api_client: APIClient) -> None:
        for title in ("Banana bread", "Apple pie", "Cherry cake"):
            ArticleFactory.create(title=title, published=True)
        assert titles(api_client.get(ARTICLES, {"search": "pie"})) == ["Apple pie"]
        assert titles(api_client.get(ARTICLES, {"ordering": "title"})) == [
            "Apple pie",
            "Banana bread",
            "Cherry cake",
        ]

    def test_cursor_pagination_walks_every_page(self, api_client: APIClient) -> None:
        ArticleFactory.create_batch(5, published=True)
        seen: list[str] = []
        url: str | None = f"{ARTICLES}?page_size=2"
        while url:
            page = api_client.get(url).json()
            seen += [item["title"] for item in page["results"]]
            url = page["next"]
        assert len(seen) == 5
        assert len(set(seen)) == 5

    @pytest.mark.parametrize("rows", [1, 50])
    def test_list_costs_a_fixed_number_of_queries(
        self, rows: int, author: User, author_client: APIClient
    ) -> None:
        tags = TagFactory.create_batch(3)
        for article in ArticleFactory.create_batch(rows, author=author, published=True):
            article.tags.set(tags)
            CommentFactory.create(article=article)
        with CaptureQueriesContext(connection) as queries:
            response = author_client.get(ARTICLES, {"page_size": rows})
        assert response.status_code == 200
        assert len(response.json()["results"]) == rows
        # One query for the page (author joined, comments counted), one for its tags.
        assert len(queries) == 2, [query["sql"] for query in queries]


class TestChange:
    def test_author_updates_their_article(self, author: User, author_client: APIClient) -> None:
        article = ArticleFactory.create(author=author)
        response = author_client.patch(detail(article), {"title": "New title"})
        assert response.status_code == 200
        article.refresh_from_db()
        assert article.title == "New title"

    def test_other_user_cannot_update_or_delete(self, other_client: APIClient) -> None:
        article = ArticleFactory.create(title="Original", published=True)
        assert other_client.patch(detail(article), {"title": "Hijacked"}).status_code == 403
        assert other_client.delete(detail(article)).status_code == 403
        article.refresh_from_db()
        assert article.title == "Original"

    def test_anonymous_user_cannot_update(self, api_client: APIClient) -> None:
        article = ArticleFactory.create(published=True)
        assert api_client.patch(detail(article), {"title": "x"}).status_code in {401, 403}

    def test_author_deletes_their_article(self, author: User, author_client: APIClient) -> None:
        article = ArticleFactory.create(author=author)
        assert author_client.delete(detail(article)).status_code == 204
        assert not Article.objects.filter(pk=article.pk).exists()


class TestPublish:
    def test_author_publishes_a_draft(self, author: User, author_client: APIClient) -> None:
        article = ArticleFactory.create(author=author)
        response = author_client.post(detail(article, "publish/"))
        assert response.status_code == 200
        assert response.json()["status"] == "published"
        article.refresh_from_db()
        assert article.is_published
        assert article.published_at is not None

    def test_publishing_twice_is_a_400(self, author: User, author_client: APIClient) -> None:
        article = ArticleFactory.create(author=author, published=True)
        response = author_client.post(detail(article, "publish/"))
        assert response.status_code == 400
        assert "already published" in response.json()["status"][0]

    def test_other_user_cannot_publish(self, other_client: APIClient) -> None:
        article = ArticleFactory.create(published=True)
        assert other_client.post(detail(article, "publish/")).status_code == 403


class TestComments:
    def test_comment_on_a_readable_article(self, other_client: APIClient) -> None:
        article = ArticleFactory.create(published=True)
        response = other_client.post("/api/v1/comments/", {"article": article.pk, "body": "Nice"})
        assert response.status_code == 201
        assert Comment.objects.get().article == article

    def test_cannot_comment_on_a_draft_one_cannot_read(self, other_client: APIClient) -> None:
        draft = ArticleFactory.create()
        response = other_client.post("/api/v1/comments/", {"article": draft.pk, "body": "Hi"})
        assert response.status_code == 400
        assert "article" in response.json()
        assert not Comment.objects.exists()


def test_anonymous_requests_are_throttled(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Throttle classes read their rates once, at import, so patch the class, not settings.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/minute", "user": None})
    statuses = [api_client.get(ARTICLES).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_openapi_schema_and_docs_are_served(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "/api/v1/articles/{id}/publish/" in schema.json()["paths"]
    assert api_client.get("/api/docs/").status_code == 200
