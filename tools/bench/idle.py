"""Idle listening sessions for load tests, in a process of their own (so they do not starve the measuring client).

    python -m omnirt.tools.bench.idle URL N

Connects N aiortc clients that send silence and receive audio, prints "ready", and when its standard input closes
prints one JSON line: the longest gap between received audio frames per client (an underrun shows as a gap).
"""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np


async def main(url: str, n: int) -> None:
    from ...runtime.clock import now
    from ..rtc_client import ClientOptions, RTCClient

    clients = [RTCClient(url, ClientOptions()) for _ in range(n)]
    for c in clients:
        await c.connect()
    start = now()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
    gaps = []
    for c in clients:
        times = [t for t, _ in c.received.chunks if t > start]
        gaps.append(round(float(np.diff(times).max()) * 1e3, 1) if len(times) > 1 else None)
    for c in clients:
        await c.close()
    print(json.dumps({"max_gap_ms": gaps}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
