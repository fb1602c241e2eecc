"""WSGI entry point of the bare project (bench/bare/bare.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bare")

application = get_wsgi_application()
