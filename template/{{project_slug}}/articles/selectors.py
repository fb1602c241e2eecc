"""Read queries on articles, shaped so a page costs the same few queries at any size."""

from django.db.models import Count, Q, QuerySet

from .models import Article, Comment


def article_list(*, user: object) -> QuerySet[Article]:
    """Published articles, plus the drafts `user` wrote, with author, tags and comment count."""
    visible = Q(status=Article.Status.PUBLISHED)
    if getattr(user, "is_authenticated", False):
        visible |= Q(author=user)
    return (
        Article.objects.filter(visible)
        .select_related("author")
        .prefetch_related("tags")
        .annotate(comment_count=Count("comments"))
    )


def comment_list(*, user: object) -> QuerySet[Comment]:
    """Comments on the articles `user` may read."""
    readable = article_list(user=user).values("pk")
    return Comment.objects.filter(article__in=readable).select_related("author")
