"""The limit: bare Django, serving a hello view and the generated article list template.

No middleware, no database, and no apps beyond what the template needs (django-htmx's tags;
django-template-partials on Django 5.2). bench/http_endpoints.py serves it with the generated
project's own web command and virtualenv, this package's WSGI application in place of the
project's, and the project's template folders in BARE_TEMPLATE_DIRS. The page gets the
context the project's view would give it (50 published articles of the signed-in reader,
three tags each), built from plain objects.
"""

import os
from datetime import UTC, datetime
from types import SimpleNamespace

import django
from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path

PARTIALS_APP = [] if django.VERSION >= (6,) else ["template_partials"]

DEBUG = False
SECRET_KEY = "bare-bench-not-a-secret"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS = ["django_htmx", *PARTIALS_APP]
MIDDLEWARE: list[str] = []
STATIC_URL = "static/"
USE_TZ = True
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": os.environ.get("BARE_TEMPLATE_DIRS", "").split(os.pathsep),
        "OPTIONS": {
            "builtins": [f"{app}.templatetags.partials" for app in PARTIALS_APP],
        },
    },
]


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False)
    status = forms.ChoiceField(
        choices=[("", "Any"), ("draft", "Draft"), ("published", "Published")], required=False
    )


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)


READER = SimpleNamespace(pk=1, is_authenticated=True, get_short_name="bench")
NOW = datetime.now(UTC)
TAGS = [SimpleNamespace(name=f"Tag {n}", slug=f"tag-{n}") for n in range(3)]
ARTICLES = [
    SimpleNamespace(
        pk=n,
        title=f"Article {n}",
        status="published",
        status_label="Published",
        is_published=True,
        author_id=READER.pk,
        author_name="bench",
        created=NOW,
        updated=NOW,
        published_at=NOW,
        comment_count=2,
        tags=TAGS,
        # What templates before the rows (8b0714c and earlier) read.
        get_status_display="Published",
        author=READER,
        tag_list=TAGS,
    )
    for n in range(50, 0, -1)
]


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, world")


def page(request: HttpRequest) -> HttpResponse:
    context = {
        "user": READER,
        "filter": SimpleNamespace(form=SearchForm(request.GET)),
        "page": SimpleNamespace(items=ARTICLES, next_url=None, previous_url=None),
        "form": ArticleForm(),
    }
    return render(request, "articles/article_list.html", context)


def stub(request: HttpRequest, pk: int = 0) -> HttpResponse:
    return HttpResponse()


# Every name the template reverses.
articles = [
    path("", page, name="list"),
    path("new/", stub, name="create"),
    path("<int:pk>/publish/", stub, name="publish"),
    path("<int:pk>/delete/", stub, name="delete"),
]
urlpatterns = [
    path("hello", hello),
    path("healthz", hello),  # what the bench waits for before it starts
    path("page", page),
    path("articles/", include((articles, "articles"))),
    path("", stub, name="home"),
    path("api/docs/", stub, name="api-docs"),
    path("login/", stub, name="login"),
    path("logout/", stub, name="logout"),
]
