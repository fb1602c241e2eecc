"""Cached article lists: what their keys hold, and the one way to make them all stale.

A list is cached per URL (its filters, search, ordering and page) and per reader, since
authors also see their own drafts. Every key includes the list generation: writing any
article starts a new generation (the services call `forget_lists` once their transaction
commits), so no list cached before the write is read again, and the stale entries expire.
The cache's key function adds the tenant to every key, generation included.

Old and new code share the cache while a deploy rolls out. Lists of plain data (the API's)
read the same by both; a page caching rows of its own type passes their `row_shape`, so a
page cached with rows of other fields is never rendered by a template that expects these.
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import fields

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from ..core.metrics import CACHE

GENERATION_KEY = "articles:lists:generation"


def forget_lists() -> None:
    """Make every cached article list stale (of the current tenant)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def row_shape(*row_types: type) -> str:
    """A digest of the fields, and their types, of the dataclasses a cached list holds."""
    shape = [(row.__qualname__, [(f.name, str(f.type)) for f in fields(row)]) for row in row_types]
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:16]


def cached_list[T](request: HttpRequest, build: Callable[[], T], *, shape: str = "data") -> T:
    """The list `request` asks for, from the cache or else from `build` (then cached)."""
    timeout = settings.ARTICLE_LIST_CACHE_SECONDS
    if timeout <= 0:
        return build()
    key = _list_key(request, shape)
    value: T | None = cache.get(key)
    CACHE.labels("miss" if value is None else "hit").inc()
    if value is None:
        value = build()
        cache.set(key, value, timeout)
    return value


def _list_key(request: HttpRequest, shape: str) -> str:
    generation = cache.get_or_set(GENERATION_KEY, lambda: uuid.uuid4().hex, timeout=None)
    reader = request.user.pk if request.user.is_authenticated else "anonymous"
    # The absolute URL: pages link to their neighbours by it, host included.
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    return f"articles:lists:{generation}:{shape}:{reader}:{url}"
