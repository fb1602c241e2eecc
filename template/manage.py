#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as error:
        # psycopg's words for a server that does not answer; other database errors keep
        # their traceback.
        if not str(error).startswith("connection failed"):
            raise
        sys.exit(
            f"{error}\n"
            "The database in DATABASE_URL does not answer: start it (`uv run just services` "
            "starts PostgreSQL and Redis in containers) or correct DATABASE_URL in .env."
        )


if __name__ == "__main__":
    main()
