"""A request with a pause in the middle, as people speak: one turn, one transcript, one answer (issue 13's report:
"How many legs does a ... spider have?" answered as two turns). Real models, fed in real time, default options."""

import pytest

from omnirt.tools.bench.turns_corpus import Planned, _build
from omnirt.tools.reply import reply
from omnirt.tools.voice import VoiceConfig

pytestmark = [pytest.mark.models, pytest.mark.slow, pytest.mark.needs("flite")]


@pytest.mark.parametrize("parts, words", [
    (("How many wheels does a", "tricycle have?"), ("wheels", "tricycle")),
    (("Can you tell me when the", "library closes tonight?"), ("tell", "library")),
])
async def test_a_pause_after_an_unfinished_phrase_leaves_one_turn(parts, words, components, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIRT_TURNS_DIR", str(tmp_path / "corpus"))
    spoken = _build(Planned("heldout", "paused", "flite", "slt", parts, (700,)))  # cut from the whole sentence
    result = await reply(spoken.path, tmp_path / "a.wav", VoiceConfig(realtime=True), components=components)
    answered = [t for t in result.turns if t.answer]
    assert len(answered) == 1, [(t.transcript, t.answer) for t in result.turns]
    heard = answered[0].transcript.lower()
    assert all(w in heard for w in words), heard  # the words before the pause and after it, in one transcript
    assert result.errors == []
