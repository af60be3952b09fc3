"""Reading an HTTP answer with a bound on its size, before it is all in memory.

``response.content`` reads the whole body first: a faulty or hostile endpoint (a node, a chain RPC) that answers with
gigabytes would exhaust memory before any size check ran. These read a streamed response chunk by chunk and stop
once it passes ``limit`` bytes.
"""

from __future__ import annotations

import httpx

__all__ = ["aread_at_most", "read_at_most"]


async def aread_at_most(response: httpx.Response, limit: int) -> bytes | None:
    """The body of a streamed ``response`` (``send(..., stream=True)``), or None once it passes ``limit`` bytes; the
    response is closed either way."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    finally:
        await response.aclose()
    return b"".join(chunks)


def read_at_most(response: httpx.Response, limit: int) -> bytes | None:
    """:func:`aread_at_most` for a blocking client."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)
