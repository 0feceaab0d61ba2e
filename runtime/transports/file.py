"""The file transport: a WAV file streamed in as if from a microphone, reply audio streamed out to a WAV file.

The reader never holds the whole file: it reads 20 ms blocks, so a ten-minute recording costs the same memory as a
ten-second one. Any sample rate and channel count libsndfile reads is accepted (the VAD stage resamples and
downmixes); anything else fails with `AudioInputError`, whose message is one line. With `realtime=True` the frames
are paced by the wall clock, like a live microphone, so measured latencies mean what they would live.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

import numpy as np

from ..audio import StreamResampler, to_int16, to_mono_float
from ..clock import now
from ..frames import AudioFrame, Frame, SpeechDone
from ..playout import OutputFailed, OutputSink

WAV_FORMATS = {"WAV", "WAVEX", "RF64"}


class AudioInputError(ValueError):
    """The input audio cannot be used; the message is one line for a person."""


@dataclass(frozen=True)
class WavInfo:
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe_wav(path: str | Path) -> WavInfo:
    """Check that a path is a readable WAV file with audio in it."""
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"input file not found: {p}")
    if not p.is_file():
        raise AudioInputError(f"input is not a file: {p}")
    try:
        info = sf.info(str(p))
    except Exception as err:  # noqa: BLE001 - libsndfile's errors are many and all mean "unreadable"
        reason = str(err).splitlines()[0].split(": ")[-1]
        raise AudioInputError(f"{p.name} is not a readable WAV file ({reason})") from None
    if info.format not in WAV_FORMATS:
        raise AudioInputError(f"{p.name} is {info.format_info or info.format} audio, not WAV")
    if info.frames <= 0:
        raise AudioInputError(f"{p.name} holds no audio")
    if not 4000 <= info.samplerate <= 384000:
        raise AudioInputError(f"{p.name} has an unusable sample rate of {info.samplerate} Hz")
    return WavInfo(info.samplerate, info.channels, info.frames)


async def wav_frames(path: str | Path, frame_ms: int = 20, realtime: bool = False,
                     tail_silence_s: float = 1.0, lead_silence_s: float = 0.0) -> AsyncIterator[AudioFrame]:
    """Stream a WAV file as int16 AudioFrames of `frame_ms`, then `tail_silence_s` of silence (a microphone goes on
    after the speaker stops; the VAD needs that silence to decide the turn is over).

    lead_silence_s: silence sent first, as one frame. A microphone is already running when a speaker starts, at no
    particular sample of the VAD's chunks; a file that always starts on a chunk boundary is heard at one phase of
    them only, and Silero's scores of band-limited speech change a lot with that phase (docs/measurements.md).

    capture_ts of each frame is when its first sample was "captured": for paced input, the frame's due time.
    """
    import soundfile as sf

    info = probe_wav(path)
    block = max(1, info.sample_rate * frame_ms // 1000)
    start = now()
    sent = 0

    async def pace(frame: np.ndarray) -> AudioFrame:
        nonlocal sent
        due = start + (sent + len(frame)) / info.sample_rate
        if realtime:
            delay = due - now()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)  # let the pipeline run between blocks
        t = now()
        sent += len(frame)
        return AudioFrame(pcm=frame, sample_rate=info.sample_rate, channels=info.channels,
                          capture_ts=t - len(frame) / info.sample_rate)

    lead = int(round(lead_silence_s * info.sample_rate))
    if lead > 0:
        yield await pace(np.zeros((lead,) if info.channels == 1 else (lead, info.channels), np.int16))
    try:
        with sf.SoundFile(str(path)) as f:
            # float files are read as float and scaled here: asking libsndfile for int16 truncates them instead
            # of scaling, and clear speech became near-silence. Integer files are read as they are, bit-exact.
            floating = f.subtype in ("FLOAT", "DOUBLE")
            for data in f.blocks(blocksize=block, dtype="float32" if floating else "int16", always_2d=True):
                pcm = data[:, 0].copy() if info.channels == 1 else data.copy()
                pcm = to_int16(pcm) if floating else pcm
                yield await pace(pcm)
    except AudioInputError:
        raise
    except Exception as err:  # noqa: BLE001
        raise AudioInputError(f"{Path(path).name} is corrupt ({str(err).splitlines()[0]})") from None
    silence = np.zeros((block,) if info.channels == 1 else (block, info.channels), np.int16)
    for _ in range(int(tail_silence_s * 1000 / frame_ms)):
        yield await pace(silence)


class AudioOutputError(ValueError, OutputFailed):
    """The output path cannot be written; the message is one line for a person."""


def check_output(path: str | Path, source: str | Path | None = None) -> Path:
    """Refuse, before any work, an output that is the input, a directory, in a folder that does not exist, or not
    writable; returns the path."""
    out = Path(path)
    if source is not None and (out.resolve() == Path(source).resolve()
                               or (out.exists() and Path(source).exists() and out.samefile(source))):
        raise AudioOutputError(f"the output {out} is the input file: choose another name")
    if out.is_dir():
        raise AudioOutputError(f"the output {out} is a directory")
    if not out.parent.is_dir():
        raise AudioOutputError(f"the output's folder {out.parent} does not exist")
    if out.exists() and not out.is_file():
        raise AudioOutputError(f"the output {out} is not a regular file")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise AudioOutputError(f"cannot write {out} (permission denied)")
    return out


class WavWriter(OutputSink):
    """Writes reply audio to a mono 16-bit WAV file at a fixed rate, as it arrives (resampling if needed). As an
    OutputSink, what is written counts as heard, and each finished turn is followed by `gap_s` of silence."""

    def __init__(self, path: str | Path, sample_rate: int, gap_s: float = 0.3) -> None:
        import soundfile as sf

        self.path = check_output(path)
        self.sample_rate, self.gap_s = sample_rate, gap_s
        self._turn_samples: dict[int, int] = {}
        self._file = sf.SoundFile(str(self.path), "w", samplerate=sample_rate, channels=1, subtype="PCM_16",
                                  format="WAV")
        self._resamplers: dict[int, StreamResampler] = {}
        self.samples = 0

    def write(self, frame: AudioFrame) -> None:
        if frame.sample_rate == self.sample_rate and frame.pcm.ndim == 1:
            pcm = frame.pcm
        else:
            rs = self._resamplers.setdefault(frame.sample_rate, StreamResampler(frame.sample_rate, self.sample_rate))
            pcm = to_int16(rs.process(to_mono_float(frame.pcm)))
        self._write(pcm)
        self._turn_samples[frame.turn] = self._turn_samples.get(frame.turn, 0) + len(pcm)

    def play(self, frame: AudioFrame) -> None:
        self.write(frame)

    async def finish(self, turn: int) -> float:
        return self.played_s(turn)

    def show(self, frame: Frame) -> None:
        if isinstance(frame, SpeechDone) and frame.turn:
            self.write_silence(self.gap_s)  # here, in order: the next turn's audio may follow at once

    def flush(self) -> None:
        """Nothing is queued: what was written stays written."""

    def played_s(self, turn: int) -> float:
        return self._turn_samples.get(turn, 0) / self.sample_rate

    def write_silence(self, seconds: float) -> None:
        self._write(np.zeros(int(seconds * self.sample_rate), np.int16))

    def _write(self, pcm: np.ndarray) -> None:
        try:
            self._file.write(pcm)
        except Exception as err:  # noqa: BLE001 - a full disk, a vanished folder: one line, not a traceback
            raise AudioOutputError(f"cannot write {self.path} ({str(err).splitlines()[0]})") from None
        self.samples += len(pcm)

    def close(self) -> None:
        """Flush what the resamplers still hold (their filter delay), then finish the file."""
        for rs in self._resamplers.values():
            self._write(to_int16(rs.process(np.zeros(0, np.float32), last=True)))
        self._resamplers.clear()
        self._file.close()

    def __enter__(self) -> "WavWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
