"""Foreground work (a turn's first audio) pauses background loops (token generation) between their items."""

import asyncio
import time

from omnirt.runtime.threads import Foreground, iterate_in_thread


def ticking(log: list[float], n: int, every: float):
    for i in range(n):
        time.sleep(every)
        log.append(time.monotonic())
        yield i


def slow_first(spans: list[tuple[float, float]], seconds: float):
    t0 = time.monotonic()
    time.sleep(seconds)
    spans.append((t0, time.monotonic()))
    yield "first"
    yield "second"


async def drain(it):
    return [x async for x in it]


async def ticking_in_background(fg: Foreground) -> tuple[Foreground, list[float], asyncio.Task]:
    """40 items 5 ms apart in a thread that yields to `fg`, running for 50 ms before this returns."""
    ticks: list[float] = []
    background = asyncio.create_task(drain(iterate_in_thread(lambda: ticking(ticks, 40, 0.005), "bg", yield_to=fg)))
    await asyncio.sleep(0.05)
    return fg, ticks, background


async def test_background_items_wait_while_the_foreground_makes_its_first_item():
    fg, ticks, background = await ticking_in_background(Foreground(max_pause_s=1.0))
    spans: list[tuple[float, float]] = []
    assert await drain(iterate_in_thread(lambda: slow_first(spans, 0.15), "fg", claim=fg)) == ["first", "second"]
    assert await background == list(range(40))
    start, end = spans[0]
    during = [t for t in ticks if start + 0.01 < t < end]  # (one item may be in flight when the claim starts)
    assert not during, f"{len(during)} background items were made during the foreground work"
    assert [t for t in ticks if t > end], "the background went on afterwards"
    assert not fg.busy


async def test_without_a_claim_the_background_runs_on_and_a_failing_claimant_releases_it():
    fg, ticks, background = await ticking_in_background(Foreground(max_pause_s=1.0))
    spans: list[tuple[float, float]] = []
    await drain(iterate_in_thread(lambda: slow_first(spans, 0.1), "fg"))  # no claim
    start, end = spans[0]
    assert [t for t in ticks if start + 0.01 < t < end]

    def broken():
        raise RuntimeError("voice missing")
        yield  # pragma: no cover

    try:
        await drain(iterate_in_thread(broken, "fg", claim=fg))
    except RuntimeError:
        pass
    assert not fg.busy
    await background
