"""ASGI entry point of the bare project (bench/bare/bare.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bare")

application = get_asgi_application()
