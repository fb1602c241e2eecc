from django.db.models import QuerySet
from rest_framework import serializers

from .models import Article, Comment, Tag
from .selectors import article_list


class TagSerializer(serializers.ModelSerializer[Tag]):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug"]


class ArticleSerializer(serializers.ModelSerializer[Article]):
    author = serializers.EmailField(source="author.email", read_only=True)
    tags = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Tag.objects.all(), required=False
    )
    comment_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "body",
            "author",
            "status",
            "published_at",
            "tags",
            "comment_count",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "published_at", "created", "updated"]


class ReadableArticleField(serializers.PrimaryKeyRelatedField[Article]):
    """An article id the requesting user may read; any other id is "does not exist"."""

    def get_queryset(self) -> QuerySet[Article]:
        return article_list(user=self.context["request"].user)


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = serializers.EmailField(source="author.email", read_only=True)
    article = ReadableArticleField()

    class Meta:
        model = Comment
        fields = ["id", "article", "author", "body", "created"]
        read_only_fields = ["created"]
