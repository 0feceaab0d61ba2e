"""The test client's microphone: `MicTrack.hush()` drops what it is still saying, so a question asked again after a
lost connection starts from its beginning (tools/bench/cluster.py)."""

import asyncio

import numpy as np

from omnirt.tools.rtc_client import FRAME, MicTrack


def _clip(value: int, frames: int) -> np.ndarray:
    return np.full(FRAME * frames, value, np.int16)


def test_hush_drops_the_clip_in_play_and_the_queued_ones_and_the_next_clip_starts_at_its_beginning() -> None:
    async def scenario() -> None:
        mic = MicTrack()
        speaking = mic.play(_clip(1000, 5), speech_end=5 * FRAME - 1)
        queued = mic.play(_clip(2000, 5), speech_end=5 * FRAME - 1)
        assert (mic.next_samples() == 1000).all() and (mic.next_samples() == 1000).all()

        mic.hush()

        assert speaking.cancelled() and queued.cancelled()
        assert not mic.next_samples().any()  # silence: neither the rest of the first clip nor the queued one
        again = mic.play(_clip(3000, 2), speech_end=2 * FRAME - 1)
        heard = [mic.next_samples() for _ in range(3)]
        assert (heard[0] == 3000).all() and (heard[1] == 3000).all() and not heard[2].any()
        assert again.done() and not again.cancelled()

    asyncio.run(scenario())


def test_hush_when_silent_changes_nothing() -> None:
    async def scenario() -> None:
        mic = MicTrack()
        mic.hush()
        assert not mic.next_samples().any()
        done = mic.play(_clip(500, 1), speech_end=FRAME - 1)
        assert (mic.next_samples() == 500).all() and done.result() > 0

    asyncio.run(scenario())
