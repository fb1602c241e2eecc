"""HTTP load with wrk, for the end-to-end tier and the benches: rate, latency and every error."""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Load:
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    non_2xx: int  # answers other than 2xx and 3xx
    socket_errors: int  # connect, read and write errors
    timeouts: int  # requests unanswered after wrk's --timeout

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _milliseconds(output: str, percentile: str) -> float | None:
    found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    return float(found.group(1)) * UNITS[found.group(2)] if found else None


def wrk(
    url: str,
    headers: dict[str, str],
    seconds: int,
    *,
    connections: int = 16,
    timeout_seconds: int = 2,
    script: Path | None = None,
) -> Load:
    """Load `url` for `seconds` with wrk (2 threads); latency percentiles included."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", f"{timeout_seconds}s"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + timeout_seconds + 30,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    if rate is None or requests is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Load(
        rate=float(rate.group(1)),
        p50_ms=_milliseconds(output, "50"),
        p99_ms=_milliseconds(output, "99"),
        requests=int(requests.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()[:3]) if sockets else 0,
        timeouts=int(sockets.group(4)) if sockets else 0,
    )
