"""A Docker engine for the end-to-end tier: the machine's own, or one the session starts.

An engine that already answers (at DOCKER_HOST, else the default socket) is used as it is.
Otherwise the session starts the docker.io package's daemon with its own data root, exec root
and socket, and stops it after. Where the engine lacks the base image the Dockerfile names
(no image registry is reachable here), a stand-in is imported under its name: a minimal
Debian (debootstrap) with this machine's Python copied in at its own prefix. The stand-in and
the started engine's build cache live under CACHE, outside the repository, so only the first
run pays for them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE = Path("/var/cache/copier-django-pro")
DOCKERD = "/usr/sbin/dockerd"
# The docker.io package's client: another `docker` on PATH may lack BuildKit's --mount.
DOCKER = "/usr/bin/docker"
DEBOOTSTRAP = "/usr/sbin/debootstrap"
REQUIRED = (DOCKERD, DOCKER, DEBOOTSTRAP)
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# What Python's extension modules link against, beyond debootstrap's minimal set.
PYTHON_LIBRARIES = ",".join(
    [
        *("libbz2-1.0", "libexpat1", "libffi8", "liblzma5", "libncursesw6", "libreadline8"),
        *("libsqlite3-0", "libssl3", "libuuid1", "zlib1g"),
    ]
)
START_TIMEOUT = 60
DEFAULT_HOST = "unix:///var/run/docker.sock"
# Bump when the stand-in changes, so engines that imported an older one import it again.
STAND_IN_VERSION = "2"


class Engine:
    def __init__(self, host: str) -> None:
        self.host = host
        self.env = os.environ | {"DOCKER_HOST": host, "DOCKER_BUILDKIT": "1"}

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DOCKER, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def answers(self) -> bool:
        return self.docker("version", timeout=10).returncode == 0

    def ensure_base_image(self, name: str) -> None:
        """Import the stand-in for `name` (python:X.Y-...) unless the engine has the image.

        An image without the stand-in's label is the real one (an engine that reaches a
        registry pulled it): it stays. A stand-in of an older version is replaced.
        """
        label = '{{ index .Config.Labels "copier-django-pro.stand-in" }}'
        found = self.docker("image", "inspect", "--format", label, name)
        if found.returncode == 0 and found.stdout.strip() in {"", "<no value>", STAND_IN_VERSION}:
            return
        tarball = CACHE / f"{name.replace('/', '_').replace(':', '_')}.tar"
        if not tarball.exists():
            build_stand_in(name, tarball)
        prefix = Path(sys.base_prefix)
        changes = [
            f"LABEL copier-django-pro.stand-in={STAND_IN_VERSION}",
            # pip installs commands next to the interpreter, as in the real image.
            f"ENV PATH=/usr/local/bin:{prefix}/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            # Downloads inside builds pass through this machine's TLS-intercepting proxy.
            f"ENV SSL_CERT_FILE={CA_BUNDLE}",
            f"ENV PIP_CERT={CA_BUNDLE}",
            'CMD ["python3"]',
        ]
        args = [arg for change in changes for arg in ("--change", change)]
        imported = self.docker("import", *args, str(tarball), name, timeout=300)
        assert imported.returncode == 0, f"docker import failed:\n{imported.stderr}"


def build_stand_in(name: str, tarball: Path) -> None:
    """A Debian root filesystem with this interpreter at its own prefix, as a tarball."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"python:{version}-" in name, f"{name} wants another Python than this {version}"
    suite = name.rpartition("-")[2]  # python:3.13-slim-bookworm -> bookworm
    prefix = Path(sys.base_prefix)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        rootfs = Path(work) / "rootfs"
        subprocess.run(
            [DEBOOTSTRAP, "--variant=minbase", f"--include={PYTHON_LIBRARIES}", suite, rootfs],
            check=True,
            capture_output=True,
            timeout=600,
        )
        shutil.copytree(
            prefix,
            rootfs / prefix.relative_to("/"),
            symlinks=True,
            ignore=shutil.ignore_patterns("test", "__pycache__", "idlelib", "tkinter"),
        )
        # The prefix may sit under /root: let the image's unprivileged user reach it.
        for parent in (rootfs / prefix.relative_to("/")).parents:
            if parent != rootfs and rootfs in parent.parents:
                parent.chmod(0o755)
        for command in ("python", "python3", f"python{version}", "pip", "pip3"):
            link = rootfs / "usr/local/bin" / command
            link.unlink(missing_ok=True)
            link.symlink_to(prefix / "bin" / (command if "pip" in command else f"python{version}"))
        bundle = rootfs / CA_BUNDLE.relative_to("/")
        bundle.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CA_BUNDLE, bundle)
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", rootfs, "-cf", partial, "."],
            check=True,
            timeout=600,
        )
        partial.rename(tarball)


@contextmanager
def engine() -> Iterator[Engine]:
    """The engine the machine runs, if one answers; else one started for the session."""
    running = Engine(os.environ.get("DOCKER_HOST", DEFAULT_HOST))
    if running.answers():
        yield running
    else:
        with started_engine() as started:
            yield started


@contextmanager
def started_engine() -> Iterator[Engine]:
    """Start dockerd for the session, one at a time per data root, and stop it after."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "engine.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # A short path: unix socket paths are limited to about 100 bytes.
        run = Path(tempfile.mkdtemp(prefix="cdp-docker-", dir="/tmp"))
        log = run / "dockerd.log"
        with log.open("w") as output:
            daemon = subprocess.Popen(
                [
                    DOCKERD,
                    *("--data-root", str(CACHE / "docker")),
                    *("--exec-root", str(run / "exec")),
                    *("--host", f"unix://{run}/docker.sock"),
                    *("--pidfile", str(run / "docker.pid")),
                    # Containers and builds use the host's network: no bridge, no iptables.
                    *("--bridge", "none", "--iptables=false"),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        socket = run / "docker.sock"
        docker = Engine(f"unix://{socket}")
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not (socket.exists() and docker.answers()):
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dockerd did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield docker
            # Stand-ins replaced by a newer version: nothing refers to them any more.
            docker.docker("image", "prune", "--force")
        finally:
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=10)
            shutil.rmtree(run, ignore_errors=True)
