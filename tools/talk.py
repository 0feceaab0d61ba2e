"""`omnirt talk`: a live spoken conversation through the microphone and speaker (sounddevice), offline by default.

microphone -> echo gate -> VAD -> ASR -> Thinker -> Talker -> speaker. It prints what it heard, the answer as it
streams, and per turn where the time went, including when the answer really reached the speaker. Interrupt frames
from the session (barge-in) drop the reply audio not yet played. Ctrl-C ends the session cleanly.

Without hardware, tools/pulse.py gives a virtual microphone and speaker (a private PulseAudio daemon).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..runtime.frames import AudioFrame, ErrorFrame, Interrupt, SpeechDone, SpeechStarted, TextDelta, TextDone, \
    Transcript, UserSound
from ..runtime.session import Components, SessionOptions, VoiceSession
from ..runtime.tool_calls import ToolProgress
from ..runtime.transports.local import AudioDeviceError, LocalAudio, LocalAudioOptions, abandoned_streams
from .voice import add_voice_arguments


def _device(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-device", type=_device, help="microphone: index or name (default: the system's)")
    parser.add_argument("--output-device", type=_device, help="speaker: index or name (default: the system's)")
    parser.add_argument("--list-devices", action="store_true", help="list the audio devices and exit")
    add_voice_arguments(parser)
    parser.add_argument("--no-echo-gate", action="store_true",
                        help="let the microphone hear the assistant (use with headphones only)")
    parser.add_argument("--turns", type=int, default=0, help="exit after this many answered turns (0: never)")
    parser.add_argument("--linger-s", type=float, default=0.0,
                        help="with --turns: keep listening this long after the last answer before exiting")


@dataclass
class TalkState:
    """What happened in the session (for the summary and for tests)."""

    turns_done: list[int] = field(default_factory=list)
    turns_started: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def _say(console: Any, text: str, end: str = "\n") -> None:
    console.print(text, end=end, markup=False, highlight=False, soft_wrap=True)
    console.file.flush()


class _Printer:
    """Prints whole lines and streamed pieces; a line after a streamed answer starts on a line of its own."""

    def __init__(self, console: Any) -> None:
        self.console, self.open = console, False

    def line(self, text: str) -> None:
        if self.open:
            _say(self.console, "")
            self.open = False
        _say(self.console, text)

    def piece(self, text: str) -> None:
        _say(self.console, text, end="")
        self.open = True

    def end(self) -> None:
        if self.open:
            _say(self.console, "")
            self.open = False


def _latency_line(session: VoiceSession, audio: LocalAudio, turn: int, played: float) -> str:
    """Where the turn's time went, ms from the end of the user's speech, ending when the speaker played it."""
    parts = []
    tl = session.latency.turns.get(turn)
    if tl is not None:
        parts = [f"{name} {ms:.0f}" for name, ms in tl.segments_ms()]
        if tl.total_ms is not None:
            parts.append(f"total {tl.total_ms:.0f}")
        heard = audio.first_heard(turn)
        if heard is not None and tl.speech_end is not None:
            parts.append(f"heard at the speaker {1e3 * (heard - tl.speech_end):.0f}")
    return f"  turn {turn} latency (ms): {', '.join(parts) or 'n/a'}; played {played:.1f} s"


async def converse(components: Components, audio_options: LocalAudioOptions, console: Any,
                   session_options: SessionOptions = SessionOptions(), turns: int = 0, linger_s: float = 0.0,
                   state: TalkState | None = None) -> TalkState:
    """Run one live session until `turns` answers have been heard (0: until cancelled)."""
    state = state or TalkState()
    session = VoiceSession(components, session_options)
    stop = asyncio.Event()
    tasks: list[asyncio.Task] = []
    out = _Printer(console)
    async with LocalAudio(audio_options) as audio, session as pipeline:
        muted: set[int] = set()  # interrupted turns: their late audio is not played

        def mark_played(turn: int, seconds: float) -> str | None:
            """Tell the session how much of the answer was heard (it keeps only those words); returns them."""
            if hasattr(session, "mark_played"):
                return session.mark_played(turn, seconds)
            return None

        async def feed() -> None:
            async for frame in audio.frames():
                await pipeline.push(frame)

        async def announce() -> None:
            await audio.ready.wait()
            gate = "on" if audio.gate else "off"
            out.line(f"mic ready: speak now (input: {audio.input_name}, output: {audio.output_name}, "
                          f"echo gate {gate}; Ctrl-C to quit)")

        async def finish(turn: int) -> None:
            played = await audio.wait_played(turn)
            mark_played(turn, played)
            out.line(_latency_line(session, audio, turn, played))
            if turn in muted:
                return  # cut by a barge-in: the turn that interrupted it is the one to count
            state.turns_done.append(turn)
            if turns and len(state.turns_done) >= turns:
                await asyncio.sleep(linger_s)
                stop.set()

        async def consume() -> None:
            speaking: int | None = None  # the turn whose audio is playing
            writing: int | None = None  # the turn whose answer is being printed
            async for frame in pipeline.frames():
                if isinstance(frame, AudioFrame) and frame.turn > 0:
                    if frame.turn not in muted:
                        audio.play(frame)
                        speaking = frame.turn
                elif isinstance(frame, SpeechStarted):
                    state.turns_started.append(frame.turn)
                    out.line(f"[turn {frame.turn}] listening...")
                elif isinstance(frame, Transcript) and frame.final:
                    out.line(f"you: {frame.text}")
                elif isinstance(frame, TextDelta):
                    if not frame.text:
                        continue
                    if writing != frame.turn:
                        writing = frame.turn
                        out.end()
                        out.piece("assistant: ")
                    out.piece(frame.text)
                elif isinstance(frame, TextDone):
                    out.end()
                elif isinstance(frame, SpeechDone) and frame.turn not in muted:
                    audio.end_reply()
                    tasks.append(asyncio.create_task(finish(frame.turn)))
                elif isinstance(frame, UserSound):
                    audio.hold(frame.active)  # the reply falls silent at the user's first sound (see UserSound)
                elif isinstance(frame, Interrupt):
                    if not audio.playing or speaking is None:
                        continue  # nothing to cut (the VAD announces every new turn this way)
                    dropped = audio.flush()
                    muted.add(speaking)
                    played = audio.played_s(speaking)
                    heard = mark_played(speaking, played)
                    out.line(f"  (interrupted after {played:.1f} s, {dropped:.1f} s dropped"
                                  + (f"; you heard: {heard!r})" if heard is not None else ")"))
                elif isinstance(frame, ToolProgress):
                    out.line(f"  [{frame.tool}] {frame.text}")
                elif isinstance(frame, ErrorFrame):
                    state.errors.append(f"{frame.stage}: {frame.message}")
                    out.line(f"warning: {frame.stage}: {frame.message}")

        tasks += [asyncio.create_task(t) for t in (feed(), consume(), stop.wait(), announce())]
        try:
            done, _ = await asyncio.wait(tasks[:3], return_when=asyncio.FIRST_COMPLETED)
            for t in done:  # a failing feeder or consumer must not be silent
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            state.stats = audio.stats()
    return state


def run(args: argparse.Namespace, console: Any) -> int:
    from .voice import load_components, session_options, voice_config

    audio_options = LocalAudioOptions(input_device=args.input_device, output_device=args.output_device,
                                      echo_gate=not args.no_echo_gate)
    try:
        if args.list_devices:
            from ..runtime.transports.local import _sounddevice

            devices = _sounddevice().query_devices()
            _say(console, str(devices) if len(devices) else "no audio devices found (no sound card or sound server)")
            return 0
        LocalAudio(audio_options).check_devices()  # before the models load: fail in a second, not after ten
    except AudioDeviceError as e:
        print(f"omnirt: error: {e}", file=sys.stderr)
        return 2
    try:
        config = voice_config(args)
    except ValueError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    _say(console, "loading models...")
    components = load_components(config)
    state = TalkState()
    try:
        asyncio.run(converse(components, audio_options, console,
                             session_options(config),
                             turns=args.turns, linger_s=args.linger_s, state=state))
    except AudioDeviceError as e:
        print(f"omnirt: error: {e}", file=sys.stderr)
        return exit_code(2)
    except KeyboardInterrupt:
        _say(console, "")
    s = state.stats
    if s:
        _say(console, f"bye: {len(state.turns_done)} turns; echo gate silenced {s['echo_gated']} of {s['frames']} "
                      f"mic frames (path gain {s['echo_gain']}); input drops {s['dropped_blocks']}, "
                      f"speaker underruns {s['underruns']}, late callbacks {s['xruns']}")
    return exit_code(0)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m omnirt.tools.talk`: the same as `omnirt talk`."""
    from rich.console import Console

    from ..models.assets import ModelMissingError

    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID`: where is a stuck session?
    parser = argparse.ArgumentParser(prog="omnirt talk", description=(__doc__ or "").strip().splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args, Console(highlight=False))
    except ModelMissingError as e:
        print(f"omnirt: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def exit_code(rc: int) -> int:
    """Return `rc`, or leave at once with it when an audio stream could not be closed (the sound server died):
    PortAudio's exit handler would block on that stream for good."""
    if abandoned_streams():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


if __name__ == "__main__":
    sys.exit(main())
