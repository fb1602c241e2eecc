import django_filters

from .models import Article, Comment

# Every filter is declared: generating them from the model would query it at import time,
# before any tenant is in context.


class ArticleFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Article.Status.choices)
    tag = django_filters.CharFilter(field_name="tags__slug", label="Tag slug")
    author = django_filters.NumberFilter(field_name="author_id", label="Author id")
    published_after = django_filters.IsoDateTimeFilter(field_name="published_at", lookup_expr="gte")
    published_before = django_filters.IsoDateTimeFilter(field_name="published_at", lookup_expr="lt")

    class Meta:
        model = Article
        fields = ["status", "tag", "author", "published_after", "published_before"]


class CommentFilter(django_filters.FilterSet):
    article = django_filters.NumberFilter(field_name="article_id", label="Article id")

    class Meta:
        model = Comment
        fields = ["article"]
