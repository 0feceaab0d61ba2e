"""Test any stage without a network: frames in, frames out.

    out = await run_test(MyStage(), [frame1, frame2], expected=[TextDelta, TextDone])

`expected` is a list of frame types (or predicates) matched in order against the output, EndOfStream excluded.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from .frames import EndOfStream, Frame
from .stage import Pipeline, PipelineObserver, Stage

Expectation = type | Callable[[Frame], bool]


def _matches(frame: Frame, exp: Expectation) -> bool:
    return isinstance(frame, exp) if isinstance(exp, type) else bool(exp(frame))


async def run_test(stage: Stage | Sequence[Stage], frames_in: Iterable[Frame],
                   expected: Sequence[Expectation] | None = None,
                   observers: Iterable[PipelineObserver] = (), ignore: tuple[type, ...] = ()) -> list[Frame]:
    """Run frames through a stage (or a list of stages) and return what came out, EndOfStream excluded.

    ignore: frame types left out of the comparison with `expected` (e.g. AudioFrame passed through).
    """
    stages = [stage] if isinstance(stage, Stage) else list(stage)
    out: list[Frame] = []
    async with Pipeline(stages, observers=observers) as pipeline:
        async for frame in pipeline.run(frames_in):
            if not isinstance(frame, EndOfStream):
                out.append(frame)
    if expected is not None:
        compared = [f for f in out if not isinstance(f, ignore)]
        got = [f.kind for f in compared]
        if len(compared) != len(expected) or not all(map(_matches, compared, expected)):
            names = [e.__name__ if isinstance(e, type) else getattr(e, "__name__", "predicate") for e in expected]
            raise AssertionError(f"expected {names}, got {got}")
    return out
