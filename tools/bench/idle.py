"""Idle listening sessions for load tests, in a process of their own (so they do not starve the measuring client).

    python -m omnirt.tools.bench.idle URL N [dtx|continuous]

Connects N aiortc clients that send silence and receive audio, prints "ready", and when its standard input closes
prints one JSON line: the longest gap between received audio packets per client (a stall shows as a gap; while
the assistant is silent the server sends one packet per 400 ms, WebRTCOptions.dtx_s, so that is the floor) and
the packets each sent per second.

Uplink "dtx" (the default) does what a browser does when the server's answer asks for Opus DTX (usedtx=1,
runtime/transports/sdp.py): a silent microphone sends two packets 20 ms apart every 400 ms (Chromium: a comfort-noise
frame and an empty one; measured in tests/e2e/test_webrtc_chromium.py at 5 packets/s). "continuous" sends fifty a second
whatever the answer says: a browser that ignores the request, or a microphone in a room too noisy for DTX.

The clients cost this machine as little as a client can: in a real deployment they are browsers elsewhere, and
here they share the 2 cores with the server under test. The microphone sends one cached Opus packet of silence
per 20 ms (what the server's own reply track does when quiet) instead of encoding silence, and the reply is not
decoded: an `ArrivalLog` in place of aiortc's jitter buffer notes each packet's arrival and keeps nothing. 7 clients
took 25.8 % of a core encoding and decoding, 9.6-10.1 % this way (the server beside them: 21-25 %).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import numpy as np


class ArrivalLog:
    """Stands in for aiortc's jitter buffer on a receiver: records when each packet came, hands nothing on."""

    def __init__(self) -> None:
        from ...runtime.clock import now

        self._now = now
        self.times: list[float] = []

    def add(self, packet: Any) -> tuple[bool, None]:
        self.times.append(self._now())
        return False, None


async def main(url: str, n: int, uplink: str = "dtx") -> None:
    from ...runtime.clock import now
    from ...runtime.transports.jitter import replace_audio_buffers
    from ...runtime.transports.tracks import FRAME, PacedAudioTrack
    from ..rtc_client import ClientOptions, RTCClient

    class Silence(PacedAudioTrack):
        def __init__(self) -> None:
            super().__init__(encode=True)
            self._zeros = np.zeros(FRAME, np.int16)
            self.sent = 0
            self._pair = False

        def next_samples(self) -> np.ndarray:
            self.sent += 1
            return self._zeros

        def quiet(self) -> bool:  # asked once per frame while silent: alternate, so packets come in pairs
            self._pair = not self._pair
            return self._pair

    clients, logs = [], []
    for _ in range(n):
        c = RTCClient(url, ClientOptions(jitter_prefetch=None))
        c.mic = Silence()  # type: ignore[assignment]
        await c.connect()
        if uplink == "dtx" and c.dtx_asked:
            c.mic.dtx_s = 0.4  # what a browser does: a pair of packets per 400 ms of silence
        log = ArrivalLog()
        replace_audio_buffers(c.pc, lambda: log)
        clients.append(c)
        logs.append(log)
    start = now()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
    elapsed = now() - start
    rates = [round(c.mic.sent / elapsed, 1) for c in clients]  # type: ignore[attr-defined]
    gaps = []
    for log in logs:
        times = [t for t in log.times if t > start]
        gaps.append(round(float(np.diff(times).max()) * 1e3, 1) if len(times) > 1 else None)
    for c in clients:
        await c.close()
    print(json.dumps({"max_gap_ms": gaps, "sent_per_s": rates}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4]))
