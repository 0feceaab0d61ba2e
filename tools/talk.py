"""`omnirt talk`: a live spoken conversation through the microphone and speaker (sounddevice), offline by default.

microphone -> echo gate -> VAD -> ASR -> Thinker -> Talker -> speaker. It prints what it heard, the answer as it
streams, and per turn where the time went, including when the answer really reached the speaker. Barge-in and
holding work as for every output (runtime/playout.py). Ctrl-C ends the session cleanly.

Without hardware, tools/pulse.py gives a virtual microphone and speaker (a private PulseAudio daemon).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..runtime.frames import AudioFrame, ErrorFrame, Frame, Played, SpeechStarted, TextDelta, TextDone, Transcript
from ..runtime.playout import OutputSink, drive
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


class TerminalOutput(OutputSink):
    """The speaker plays the reply (LocalAudio); the terminal shows what was heard and said, and per turn where the
    time went. Counts the turns heard to the end, and sets `done` after `turns` of them (0: never)."""

    def __init__(self, audio: LocalAudio, session: VoiceSession, console: Any, state: TalkState,
                 turns: int = 0, linger_s: float = 0.0) -> None:
        self.audio, self.session, self.state = audio, session, state
        self.turns, self.linger_s = turns, linger_s
        self.out = _Printer(console)
        self.done = asyncio.Event()
        self._writing: int | None = None  # the turn whose answer is being printed
        self._dropped = 0.0

    def play(self, frame: AudioFrame) -> None:
        self.audio.play(frame)

    async def finish(self, turn: int) -> float:
        return await self.audio.finish(turn)

    def flush(self) -> None:
        self._dropped = self.audio.flush()

    def played_s(self, turn: int) -> float:
        return self.audio.played_s(turn)

    def hold(self, active: bool) -> None:
        self.audio.hold(active)  # the reply falls silent at the user's first sound (see UserSound)

    def show(self, frame: Frame) -> None:
        out = self.out
        if isinstance(frame, SpeechStarted):
            self.state.turns_started.append(frame.turn)
            joins = f" (you went on: turn {frame.rejoins}'s reply is withdrawn)" if frame.rejoins else ""
            out.line(f"[turn {frame.turn}] listening...{joins}")
        elif isinstance(frame, Transcript) and frame.final:
            out.line(f"you: {frame.text}")
        elif isinstance(frame, TextDelta) and frame.text:
            if self._writing != frame.turn:
                self._writing = frame.turn
                out.end()
                out.piece("assistant: ")
            out.piece(frame.text)
        elif isinstance(frame, TextDone):
            out.end()
        elif isinstance(frame, Played):
            self._played(frame)
        elif isinstance(frame, ToolProgress):
            out.line(f"  [{frame.tool}] {frame.text}")
        elif isinstance(frame, ErrorFrame):
            self.state.errors.append(f"{frame.stage}: {frame.message}")
            out.line(f"warning: {frame.stage}: {frame.message}")

    def _played(self, frame: Played) -> None:
        self.out.line(_latency_line(self.session, self.audio, frame.turn, frame.seconds))
        if frame.cut:  # the turn that interrupted it is the one to count
            self.out.line(f"  (interrupted after {frame.seconds:.1f} s, {self._dropped:.1f} s dropped; "
                          f"you heard: {frame.heard!r})")
            return
        self.state.turns_done.append(frame.turn)
        if self.turns and len(self.state.turns_done) >= self.turns:
            asyncio.get_running_loop().call_later(self.linger_s, self.done.set)


async def converse(components: Components, audio_options: LocalAudioOptions, console: Any,
                   session_options: SessionOptions = SessionOptions(), turns: int = 0, linger_s: float = 0.0,
                   state: TalkState | None = None) -> TalkState:
    """Run one live session until `turns` answers have been heard (0: until cancelled)."""
    state = state or TalkState()
    session = VoiceSession(components, session_options)
    async with LocalAudio(audio_options) as audio, session as pipeline:
        output = TerminalOutput(audio, session, console, state, turns, linger_s)

        async def announce() -> None:
            await audio.ready.wait()
            gate = "on" if audio.gate else "off"
            output.out.line(f"mic ready: speak now (input: {audio.input_name}, output: {audio.output_name}, "
                            f"echo gate {gate}; Ctrl-C to quit)")

        talking = asyncio.create_task(drive(pipeline, audio.frames(), output))
        tasks = [talking, asyncio.create_task(output.done.wait()), asyncio.create_task(announce())]
        try:
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
            if talking.done():
                talking.result()  # a failing microphone or output must not be silent
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            state.stats = audio.stats()
    return state


def run(args: argparse.Namespace, console: Any) -> int:
    from .voice import load_components, session_options, voice_config, warm

    audio_options = LocalAudioOptions(input_device=args.input_device, output_device=args.output_device,
                                      echo_gate=not args.no_echo_gate)
    try:
        if args.list_devices:
            from ..runtime.transports.audio_devices import sounddevice_module

            devices = sounddevice_module().query_devices()
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
    warm(components, lambda line: _say(console, line))
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
