"""Settings for the test suite: PostgreSQL when DATABASE_URL is set, else SQLite."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-test-only")

# A fast hasher: the suite creates many users and never needs Argon2's cost.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Serve static files straight from the apps, without running collectstatic first.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

LOGGING["root"]["level"] = "WARNING"  # noqa: F405
