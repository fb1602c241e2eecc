from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Article, Comment, Tag
from .services import article_publish_many


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


class CommentInline(admin.TabularInline[Comment, Article]):
    model = Comment
    extra = 0
    raw_id_fields = ("author",)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
    list_display = ("title", "author", "status", "published_at", "created")
    list_filter = ("status", "tags")
    list_select_related = ("author",)
    search_fields = ("title", "body", "author__email")
    date_hierarchy = "created"
    raw_id_fields = ("author",)
    filter_horizontal = ("tags",)
    readonly_fields = ("created", "updated")
    inlines = (CommentInline,)
    actions = ("publish_selected",)

    @admin.action(description="Publish selected articles", permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        count = article_publish_many(articles=queryset)
        self.message_user(request, f"Published {count} article(s).", messages.SUCCESS)
