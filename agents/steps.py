"""One agent step as a typed record: what the loop read, saw, decided and did, and how long each part took.

The loop (agents/loop.py) makes one per step; `omnirt agent` prints it, the MiniWoB runner reports it and the
trajectory writes it (`Recorder.record_step`), so all three speak of a step in the same terms.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnirt.agents.elements import Element
    from omnirt.agents.executor import Outcome
    from omnirt.agents.screen import Screenshot

SEEN_MAX = 80  # elements listed by name in a recorded step (the count is always recorded)


@dataclass
class StepTimings:
    """Milliseconds of each part of a step. step_ms is the agent's reaction time (screenshot -> grounding ->
    decision -> action issued); cycle_ms adds verify, the wait for the screen to change and hold still."""

    capture_ms: float = 0.0
    ground_ms: float = 0.0
    decide_ms: float = 0.0
    act_ms: float = 0.0
    verify_ms: float = 0.0

    @property
    def step_ms(self) -> float:
        return round(self.capture_ms + self.ground_ms + self.decide_ms + self.act_ms, 2)

    @property
    def cycle_ms(self) -> float:
        return round(self.step_ms + self.verify_ms, 2)

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "step_ms": self.step_ms, "cycle_ms": self.cycle_ms}


@dataclass
class AgentStep:
    """index: 0 for an episode's first step. instruction: what the policy acted on. elements: what grounding found
    (none when the policy needed none, e.g. typing). outcome: the executor's (action as given, resolved, safety
    verdict, status). before: the frame the policy saw; after: the screen once it settled (before itself when
    nothing was executed). changed: whether the screen changed after the action. decider: the policy that took the
    decision where a policy has several ('instruction' | 'llm' for agents/fallback.py), else ''."""

    index: int
    instruction: str
    elements: list[Element]
    outcome: Outcome
    before: Screenshot
    after: Screenshot
    changed: bool
    timings: StepTimings
    decider: str = ""

    @property
    def action(self) -> dict[str, Any]:
        """The action as the policy gave it ({} for one that did not parse)."""
        return self.outcome.action or {}

    @property
    def status(self) -> str:
        return self.outcome.status

    @property
    def reason(self) -> str:
        return self.outcome.reason

    def seen(self) -> list[str]:
        """The first SEEN_MAX elements as 'id:kind:label[=value]'."""
        return [f"{e.id}:{e.kind}:{e.label}" + (f"={e.value}" if e.value else "") for e in self.elements[:SEEN_MAX]]

    def brief(self) -> dict[str, Any]:
        """Action, status, reason, changed and the timings: one step of a benchmark's JSON."""
        out = {"action": self.action, "status": self.status, "reason": self.reason, "changed": self.changed,
               **self.timings.as_dict()}
        return {**out, "decider": self.decider} if self.decider else out
