"""runtime/threads.py: foreground work (a turn's first audio) pauses background loops (token generation) between
their items; the idle pool's threads end when there is no work, and it runs what it is given."""

import asyncio
import threading
import time

import pytest

from omnirt.runtime.threads import Foreground, IdleThreadPool, iterate_in_thread, use_idle_threads


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


def _alive(prefix: str) -> int:
    return sum(t.name.startswith(prefix) for t in threading.enumerate())


def _wait_gone(prefix: str, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while _alive(prefix) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(prefix) == 0


def test_idle_pool_threads_end_when_idle_and_return_on_demand():
    pool = IdleThreadPool(3, "t-idle", idle_s=0.2)
    gate = threading.Event()
    futures = [pool.submit(lambda i=i: (gate.wait(5), i)[1]) for i in range(5)]
    time.sleep(0.05)
    assert pool.threads == 3 and _alive("t-idle") == 3  # never more than max_workers
    gate.set()
    assert [f.result(5) for f in futures] == [0, 1, 2, 3, 4]
    _wait_gone("t-idle")
    assert pool.threads == 0
    assert pool.submit(lambda: "again").result(5) == "again"  # a new thread once work comes back
    pool.shutdown()
    assert _alive("t-idle") == 0
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_idle_pool_reuses_a_waiting_thread_and_passes_errors():
    pool = IdleThreadPool(4, "t-reuse", idle_s=5)
    names = set()
    for _ in range(20):
        names.add(pool.submit(lambda: threading.current_thread().name).result(5))
    assert len(names) == 1  # one job at a time needs one thread
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(5)
    pool.shutdown(cancel_futures=True)
    assert pool.threads == 0


async def test_to_thread_on_a_loop_with_idle_threads():
    loop = asyncio.get_running_loop()
    use_idle_threads(loop, idle_s=0.2)
    assert await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.05) for _ in range(4))) == [None] * 4
    assert _alive("omnirt-worker") >= 2
    deadline = time.monotonic() + 5
    while _alive("omnirt-worker") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert _alive("omnirt-worker") == 0


async def test_an_item_that_hands_over_waits_for_the_consumers_claim_before_the_next():
    """The consumer claims the foreground only once it has the item (as the Talker does for a first clause): a
    worker that looked for a claim at once would already be making its next item beside the foreground work."""
    fg = Foreground(max_pause_s=5.0)
    starts: list[float] = []
    held: list[tuple[float, float]] = []

    def items():
        for i in range(4):
            starts.append(time.monotonic())
            yield i

    async for item in iterate_in_thread(items, "bg", yield_to=fg, hands_over=lambda i: i == 1, hand_over_s=5.0):
        if item == 1:
            await asyncio.sleep(0.02)  # the consumer's own work before it claims
            fg.enter()
            t0 = time.monotonic()
            await asyncio.sleep(0.1)  # the foreground work
            fg.leave()
            held.append((t0, time.monotonic()))
    (claimed, left), = held
    assert starts[2] >= left, f"item 2 began {1000 * (left - starts[2]):.0f} ms before the foreground work ended"
    assert starts[1] < claimed


async def test_an_item_that_hands_over_with_no_claim_goes_on_after_the_wait():
    fg = Foreground(max_pause_s=5.0)
    got = [x async for x in iterate_in_thread(lambda: iter(range(3)), "bg", yield_to=fg, hands_over=lambda i: True,
                                              hand_over_s=0.01)]
    assert got == [0, 1, 2] and not fg.busy
