import pytest
from django.test import Client
from django.urls import reverse

from ..models import Article
from .factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_publish_selected_publishes_only_the_chosen_drafts(admin_client: Client) -> None:
    chosen = ArticleFactory.create_batch(2)
    untouched = ArticleFactory.create()
    response = admin_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "publish_selected", "_selected_action": [a.pk for a in chosen]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Published 2 article(s)." in response.content.decode()
    assert set(Article.objects.filter(status="published").values_list("pk", flat=True)) == {
        a.pk for a in chosen
    }
    untouched.refresh_from_db()
    assert not untouched.is_published
    assert all(a.published_at is not None for a in Article.objects.filter(status="published"))


def test_article_admin_pages_render(admin_client: Client) -> None:
    article = ArticleFactory.create()
    assert admin_client.get(reverse("admin:articles_article_changelist")).status_code == 200
    change_url = reverse("admin:articles_article_change", args=[article.pk])
    assert admin_client.get(change_url).status_code == 200
