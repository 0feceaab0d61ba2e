"""One voice session: VAD -> ASR -> backchannels -> Thinker -> Talker -> turn gate, with its trace and observers.

The session is given ready components (a speech detector, a recogniser, a chat backend, a synthesizer); it does not
know which models or transports stand behind them. Transports push input frames and consume output frames.
With tools (e.g. the computer-use agent), a ToolStage between ASR and the Thinker carries out the requests they claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Sequence

from .asr import CHECK_BELOW, ASRStage, Recognizer
from .backchannel import BackchannelGate, BackchannelOptions
from .frames import Commit, Transcript
from .observers import LatencyObserver
from .stage import Pipeline
from .talker import Synthesizer, TalkerOptions, TalkerStage, first_clause_watch
from .thinker import ChatBackend, ThinkerOptions, ThinkerStage, exchanges_from
from .tool_calls import Tool, ToolAwareThinker, ToolStage
from .trace import StageTracer, Trace
from .turn import FINISHED_AT, TurnGate
from .turn_classifier import asks, shipped_classifier
from .vad import SpeechDetector, VADOptions, VADStage
from .vision import Describer, VisionOptions, VisionStage


@dataclass(frozen=True)
class SessionOptions:
    """early_commit: a turn judged finished (by the Thinker's EndOfTurn, or by a transcript that ends a sentence)
    is released once its post-roll was silent, not after the whole hangover (runtime/turn.py says why); False
    always waits for the hangover.
    end_of_turn_threshold: the EndOfTurn probability at or above which a turn counts as finished; below it the VAD
    waits its unfinished_hangover_ms for the rest (chosen with `omnirt bench turns`).
    turn_classifier: judge with the Thinker's probability, the voice and the words together (runtime/turn_classifier.py
    and its shipped coefficients, which carry their own threshold; the default); False: the probability alone. On
    because held out, on a corpus whose pauses are cut from whole sentences, it cut fewer paused requests at the
    default setting and at a 600 ms budget, for less latency (docs/measurements.md, End of turn); it costs 6-8 ms of
    numpy on the event loop per judgement.
    check_below: a speculative transcript whose last word the recogniser scores below this log-probability is
    checked against the audio after the cut before the turn is released early (runtime/asr.py); None: never.
    backchannel: a barge-in during a reply waits for its words; "mm-hm" lets the reply play on
    (runtime/backchannel.py).
    asr_context: the recogniser reads the conversation's last exchange ahead of each turn's audio (runtime/asr.py).
    Off by default: questions are heard better, but a paused request is completed with the context's words more
    often and judged finished (docs/measurements.md)."""

    vad: VADOptions = field(default_factory=VADOptions)
    thinker: ThinkerOptions = field(default_factory=ThinkerOptions)
    talker: TalkerOptions = field(default_factory=TalkerOptions)
    vision: VisionOptions = field(default_factory=VisionOptions)
    queue_size: int = 64
    early_commit: bool = True
    end_of_turn_threshold: float = FINISHED_AT
    turn_classifier: bool = True
    check_below: float | None = CHECK_BELOW
    backchannel: BackchannelOptions = field(default_factory=BackchannelOptions)
    asr_context: bool = False


@dataclass
class Components:
    detector: SpeechDetector
    recognizer: Recognizer
    chat: ChatBackend
    synthesizer: Synthesizer
    describer: Describer | None = None  # camera frames are described (OCR) only when one is given
    tools: list[Tool] = field(default_factory=list)  # spoken requests they claim are theirs to carry out


class VoiceSession:
    """Builds the pipeline and owns its trace. Use `pipeline` inside `async with session:`."""

    def __init__(self, components: Components, options: SessionOptions = SessionOptions()) -> None:
        self.components, self.options = components, options
        self.trace = Trace()
        self.latency = LatencyObserver()
        vad = options.vad
        if getattr(components.chat, "judges_turns", False) and vad.speculate_ms:
            vad = replace(vad, await_judgement=True)
        self.vad = VADStage(components.detector.fork(), vad)  # detector state is per session
        tools = list(components.tools)
        vision = VisionStage(components.describer, options.vision) if components.describer is not None else None
        self.thinker = (ToolAwareThinker if tools else ThinkerStage)(
            components.chat, options.thinker, look=vision.look if vision else None,
            first_clause=partial(first_clause_watch, options.talker))
        self.talker = TalkerStage(components.synthesizer, options.talker)
        asr = ASRStage(components.recognizer, check_below=options.check_below,
                       context=self.thinker.said_before if options.asr_context else None)
        self.backchannel = BackchannelGate(options.backchannel, on_judged=self.vad.backchannel)
        gate = TurnGate(early_on_sentence_end=options.early_commit, threshold=options.end_of_turn_threshold,
                        on_judged=self.vad.judged, voice=self.vad.voice,
                        classifier=shipped_classifier(getattr(components.chat, "judge_model", None))
                        if options.turn_classifier else None)
        self.gate = gate
        self.stages = [self.vad, asr, self.backchannel, *([ToolStage(tools)] if tools else []), self.thinker,
                       self.talker, gate]
        if vision is not None:
            self.stages.insert(0, vision)
        self.pipeline = Pipeline(self.stages, observers=[StageTracer(self.trace), self.latency],
                                 maxsize=options.queue_size)

    def restore(self, history: Sequence[Sequence[str]]) -> int:
        """Start inside a conversation heard before, as (question, answer) pairs: a session moved from a host that
        died (tools/cluster/host.py), or one a bench imagines (a short answer after the assistant's question). The
        Thinker gets the exchanges whose answer was heard, and the turn gate reads the last answer as it would have
        read it here: the context of the next judgement (did the assistant just ask something?). Before the first
        frame; returns how many exchanges were kept."""
        self.thinker.exchanges = exchanges_from(history)
        self.gate.asked = bool(self.thinker.exchanges) and asks(self.thinker.exchanges[-1].answer)
        return len(self.thinker.exchanges)

    async def ask(self, text: str) -> int | None:
        """Answer `text` as the user's next turn though this session never heard it: the question of a session
        moved from a host that died after hearing it and before answering (tools/cluster/host.py), so the user need
        not ask again. The words are final, so the turn is committed at once. Its turn number; None (nothing asked)
        when the text is empty or the user is speaking now (their new words come first)."""
        turn = self.vad.typed_turn() if text.strip() else None
        if turn is not None:
            await self.pipeline.push(Transcript(text=text.strip(), turn=turn))
            await self.pipeline.push(Commit(turn=turn))
        return turn

    async def __aenter__(self) -> Pipeline:
        return await self.pipeline.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self.pipeline.__aexit__(*exc)

    def finish_trace(self) -> Trace:
        """Add the per-turn latency and turn spans; call once the session's frames are all out."""
        self.latency.finish(self.trace)
        return self.trace

    def write_trace(self, directory: str | Path, stem: str = "trace") -> tuple[Path, Path]:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        return self.trace.to_jsonl(d / f"{stem}.jsonl"), self.trace.to_chrome_json(d / f"{stem}.chrome.json")
