"""A slow upstream service for the fan-out endpoint: every request gets 200 after 50 ms.

bench/http_endpoints.py starts it on 127.0.0.1 and lists three of its URLs in the served
project's READINESS_UPSTREAMS, so /readyz waits on three 50 ms calls. One asyncio process:
a waiting request holds no thread, so it answers hundreds at once; the bench loads it alone
to show it is not the bottleneck.

    python bench/slow_upstream.py PORT
"""

from __future__ import annotations

import asyncio
import sys

DELAY_SECONDS = 0.05
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer each request of a keep-alive connection (GETs: no body) after the delay."""
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            await asyncio.sleep(DELAY_SECONDS)
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed the connection
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(answer, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
