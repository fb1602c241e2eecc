"""Settings for local development: runs with nothing but uv installed.

Without DATABASE_URL the database is a local SQLite file; without REDIS_URL the cache is
in memory. Set both (see compose.yaml) to develop against the production services.
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-development-only")
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="console")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
