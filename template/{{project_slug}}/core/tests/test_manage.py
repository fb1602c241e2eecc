import os
import socket
import subprocess
import sys

from django.conf import settings


def test_a_database_that_does_not_answer_is_named_with_the_fix() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket has closed.
    env = os.environ | {
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/nothing",
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "migrate"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert f'"127.0.0.1", port {port} failed' in result.stderr
    assert "uv run just services" in result.stderr
    assert "Traceback" not in result.stderr
