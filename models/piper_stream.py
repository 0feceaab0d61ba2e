"""A Piper voice run in two parts, so that a sentence starts to sound before all of it is made.

A Piper (VITS) voice reads a sentence's phonemes into a latent sequence (text encoder, durations, flow: one frame
per `hop` output samples), and its decoder (HiFi-GAN, a stack of convolutions) turns the frames into audio. Each
output sample depends on only a few frames either side, so the decoder can run on stretches of the frames, each
read with a margin of neighbouring frames that is cut off again, and the pieces join into exactly what one run over
the whole sentence gives. The first stretch is short: the listener's wait is the front part plus a fraction of
the decoder, not the whole decoder over the whole sentence.

`export` splits the voice's ONNX graph at the decoder's input at set-up time (`omnirt models install`), so nothing
but onnxruntime is needed at run time. Every Piper voice is exported from the same VITS code, whose decoder module
is named `dec`; a graph without one is refused at set-up with a one-line reason.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

FRONT, DECODER = "front.onnx", "decoder.onnx"
_DEC_PREFIX = "/dec/"


@dataclass(frozen=True)
class StreamOptions:
    """How the decoder's stretches are cut.

    first_frames: latent frames in a sentence's first stretch (x hop samples of audio; 20 frames of a 22.05 kHz
        voice is 0.23 s): the shorter, the sooner it sounds, but each stretch also reads 2 x margin frames more.
    frames: frames in each later stretch (they are made while the first plays).
    margin: frames read on either side of a stretch and dropped from its output. Joins are exact once it covers
        the decoder's reach (docs/measurements.md).
    """

    first_frames: int = 20
    frames: int = 80
    margin: int = 12

    def __post_init__(self) -> None:
        if self.first_frames < 1 or self.frames < 1 or self.margin < 0:
            raise ValueError(f"invalid StreamOptions: {self}")


def stretches(total: int, options: StreamOptions) -> Iterator[tuple[int, int, int, int]]:
    """(lo, hi, start, end) per stretch of a `total`-frame latent: frames [lo, hi) are decoded and the output of
    frames [start, end) is kept. Pure arithmetic (tested on its own)."""
    start, size = 0, options.first_frames
    while start < total:
        end = min(total, start + size)
        yield max(0, start - options.margin), min(total, end + options.margin), start, end
        start, size = end, options.frames


class SplitVoice:
    """The two sessions of an exported voice: `frames(ids, scales)` -> latent [1, C, T]; `decode(latent)` -> the
    audio of its middle, piece by piece."""

    def __init__(self, front: Any, decoder: Any, hop: int, options: StreamOptions = StreamOptions()) -> None:
        self.front, self.decoder, self.hop, self.options = front, decoder, hop, options
        self._latent_name = decoder.get_inputs()[0].name

    def frames(self, phoneme_ids: list[int], scales: np.ndarray) -> np.ndarray:
        ids = np.array([phoneme_ids], dtype=np.int64)
        feeds = {"input": ids, "input_lengths": np.array([ids.shape[1]], dtype=np.int64), "scales": scales}
        return self.front.run(None, feeds)[0]

    def decode(self, latent: np.ndarray) -> Iterator[np.ndarray]:
        """Float audio in [-1, 1], one array per stretch, in order; joined they equal one run over all frames."""
        for lo, hi, start, end in stretches(latent.shape[2], self.options):
            audio = self.decoder.run(None, {self._latent_name: np.ascontiguousarray(latent[:, :, lo:hi])})[0]
            audio = audio.reshape(-1)
            yield audio[(start - lo) * self.hop:(end - lo) * self.hop]


def split_graph(model: Any) -> tuple[Any, Any]:
    """(front, decoder) ModelProtos of a Piper voice; ValueError when the graph has no single-input `dec` module."""
    import onnx.utils

    graph = model.graph
    dec = [n for n in graph.node if n.name.startswith(_DEC_PREFIX)]
    if not dec:
        raise ValueError("the voice's ONNX graph has no decoder module (no /dec/ nodes): not a Piper VITS voice")
    inside = {o for n in dec for o in n.output}
    weights = {i.name for i in graph.initializer}
    feeds = sorted({i for n in dec for i in n.input if i and i not in inside and i not in weights})
    if len(feeds) != 1:
        raise ValueError(f"the voice's decoder takes {len(feeds)} inputs ({feeds}), expected the latent alone")
    extractor = onnx.utils.Extractor(model)
    inputs, outputs = [i.name for i in graph.input], [o.name for o in graph.output]
    return extractor.extract_model(inputs, feeds), extractor.extract_model(feeds, outputs)


def export(source: Path, out: Path, console: Any = None) -> list[str]:
    """Exporter for assets.Export: the voice at `source` (voice.onnx, voice.onnx.json) split into front.onnx and
    decoder.onnx in `out`."""
    import onnx

    front, decoder = split_graph(onnx.load(str(source / "voice.onnx")))
    onnx.save(front, str(out / FRONT))
    onnx.save(decoder, str(out / DECODER))
    shutil.copyfile(source / "voice.onnx.json", out / "voice.onnx.json")
    json.loads((out / "voice.onnx.json").read_text(encoding="utf-8"))  # a damaged config fails here, not later
    return [FRONT, DECODER, "voice.onnx.json"]
