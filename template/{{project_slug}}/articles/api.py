"""REST endpoints for articles, comments and tags. Thin: rules live in services and selectors."""

from typing import Any, cast

from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from django.views.decorators.http import conditional_page
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from ..core.idempotency import IdempotentCreateMixin
from ..core.schema import ErrorSerializer
from .cache import cached_list
from .filters import ArticleFilter, CommentFilter
from .models import Article, Comment, Tag
from .permissions import AccessPermission, IsAuthorOrReadOnly
from .selectors import article_list, comment_list
from .serializers import ArticleSerializer, CommentSerializer, TagSerializer
from .services import (
    ArticleAlreadyPublishedError,
    article_create,
    article_delete,
    article_publish,
    article_update,
    comment_create,
    comment_delete,
)


class AlreadyPublished(exceptions.APIException):
    """Publishing twice: the request is sound, the article's state refuses it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The article is already published."
    default_code = "already_published"


class ArticleViewSet(IdempotentCreateMixin, viewsets.ModelViewSet[Article]):
    """Articles: anyone reads published ones, signed-in users write, authors edit their own."""

    queryset = Article.objects.none()  # for the OpenAPI schema; requests use get_queryset
    serializer_class = ArticleSerializer
    permission_classes = [AccessPermission, IsAuthorOrReadOnly]
    filterset_class = ArticleFilter
    search_fields = ["title", "body"]
    ordering_fields = ["created", "title"]
    ordering = ["-created"]

    def get_queryset(self) -> QuerySet[Article]:
        return article_list(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Published articles and your own drafts, newest first.

        Pages are cached for a few seconds per reader, and every write clears them at once.
        """
        page = super().list
        return Response(cached_list(request, lambda: page(request, *args, **kwargs).data))

    @method_decorator(conditional_page)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One article. Send its ETag back in If-None-Match: 304 Not Modified while unchanged.

        The ETag is a digest of the body (Django's conditional_page). There is no
        Last-Modified: a new comment changes the comment count but not `updated`.
        """
        return super().retrieve(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Article]) -> None:
        serializer.instance = article_create(author=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Article]) -> None:
        article = cast(Article, serializer.instance)
        serializer.instance = article_update(article=article, **serializer.validated_data)

    def perform_destroy(self, instance: Article) -> None:
        article_delete(article=instance)

    @extend_schema(
        request=None,
        responses={
            200: ArticleSerializer,
            409: OpenApiResponse(ErrorSerializer, description=AlreadyPublished.default_detail),
        },
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, *args: object, **kwargs: object) -> Response:
        article = self.get_object()
        try:
            article_publish(article=article)
        except ArticleAlreadyPublishedError as error:
            raise AlreadyPublished(str(error)) from error
        return Response(self.get_serializer(article).data, status=status.HTTP_200_OK)


class CommentViewSet(
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Comment],
):
    """Comments on readable articles; only their author deletes them."""

    queryset = Comment.objects.none()
    serializer_class = CommentSerializer
    permission_classes = [AccessPermission, IsAuthorOrReadOnly]
    filterset_class = CommentFilter
    search_fields = ["body"]
    ordering_fields = ["created"]
    ordering = ["created"]

    def get_queryset(self) -> QuerySet[Comment]:
        return comment_list(user=self.request.user)

    def perform_create(self, serializer: BaseSerializer[Comment]) -> None:
        serializer.instance = comment_create(author=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance: Comment) -> None:
        comment_delete(comment=instance)


class TagViewSet(
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Tag],
):
    """Tags anyone can list; signed-in users add new ones."""

    queryset = Tag.objects.none()
    serializer_class = TagSerializer
    permission_classes = [AccessPermission]
    lookup_field = "slug"
    search_fields = ["name"]
    ordering_fields = ["name"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Tag]:
        return Tag.objects.all()
