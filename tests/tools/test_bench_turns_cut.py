"""The paused utterances of `omnirt bench turns` are cut from whole sentences (tools/bench/turns_cut.py): the
alignment finds where a part ends, checked against flite's own phone timings; the cut pieces keep every sample and
are faded at the cut; a fragment keeps the level voice of mid-sentence speech rather than a sentence-final fade."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.runtime.prosody import prosody
from omnirt.tools.bench import turns_corpus as corpus
from omnirt.tools.bench.turns_cut import boundaries, flite_boundaries, split, warp

RATE = corpus.RATE


def test_the_warp_follows_a_stretch() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(60, 4))
    x = np.repeat(y, 2, axis=0)  # every frame of y said twice as long
    assert list(warp(x, y)) == [i // 2 for i in range(120)]
    assert list(warp(y, x))[:5] == [0, 2, 4, 6, 8]


def test_split_keeps_every_sample_and_fades_at_the_cuts() -> None:
    whole = np.full(RATE, 0.5, np.float32)
    pieces = split(whole, [4000, 9000])
    assert [len(p) for p in pieces] == [4000, 5000, 7000]
    assert pieces[0][0] == 0.5 and pieces[-1][-1] == 0.5  # the sentence's own ends are not faded
    assert abs(pieces[0][-1]) < 1e-3 and abs(pieces[1][0]) < 1e-3 and abs(pieces[1][-1]) < 1e-3
    assert pieces[1][2000] == 0.5
    with pytest.raises(ValueError, match="rise strictly"):
        split(whole, [9000, 4000])


def _flite(voice: str, text: str) -> np.ndarray:
    from omnirt.tools.bench.asr_corpus import _speak

    return corpus._resampled(*_speak("flite", voice, text))


@pytest.mark.needs("flite")
def test_the_alignment_finds_where_flite_says_a_part_ends(tmp_path) -> None:
    errors = []
    for voice, parts in (("kal", ["How many legs does an", "octopus have?"]),
                         ("slt", ["What is the distance between", "the Earth and", "the Moon?"])):
        truth = flite_boundaries(("-voice", voice), parts, tmp_path / "w.wav")
        whole = corpus._resampled(*corpus._read(tmp_path / "w.wav"))
        start, stop = corpus.trim_span(whole)
        found = boundaries([corpus.trim(_flite(voice, p)) for p in parts], whole[start:stop])
        errors += [abs(f + start - t * RATE) / RATE * 1000 for f, t in zip(found, truth)]
    assert len(errors) == 3 and max(errors) < 60, errors


@pytest.mark.needs("flite")
def test_a_fragment_cut_from_the_sentence_does_not_fade_like_a_sentence_end() -> None:
    silence = np.zeros(RATE // 5, np.float32)
    end = lambda a: prosody(np.concatenate([silence, a, silence])).energy_end  # noqa: E731
    cut = corpus.pieces("flite", "slt", ("Set an alarm for", "half past six in the morning."))
    alone = corpus.pieces("flite", "slt", ("Set an alarm for",))
    assert len(cut) == 2 and len(alone[0]) > len(cut[0])  # spoken alone, the last word is drawn out too
    assert end(cut[0]) > end(alone[0]) + 3  # dB: the fragment alone fades out, the cut one stops mid-voice
