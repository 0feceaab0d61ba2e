"""Endpointing logic on probability fixtures (no model, no audio)."""


import numpy as np
import pytest

from omnirt.runtime.frames import (AudioFrame, Commit, Interrupt, PostRoll, Settled, SpeechEnded, SpeechStarted,
                                   UserSound)
from omnirt.runtime.testing import run_test
from omnirt.runtime.vad import CHUNK, Endpointer, VADOptions, VADStage

MS_PER_CHUNK = CHUNK / 16


def feed(ep, probs, speculative=False):
    """Events for a probability sequence; pause/resume (speculation) left out unless asked for."""
    events = []
    for p in probs:
        events += ep.feed(p)
    events += ep.flush()
    events = [e for e in events if e.kind not in ("onset", "onset_lost")]  # tested on their own below
    return events if speculative else [e for e in events if e.kind in ("start", "end")]


def chunks(ms):
    return int(round(ms / MS_PER_CHUNK))


def test_speech_between_silences_gives_one_start_and_one_end():
    ep = Endpointer(VADOptions(hangover_ms=320, min_speech_ms=96))
    probs = [0.0] * 10 + [0.9] * 30 + [0.0] * 20
    ev = feed(ep, probs)
    assert [e.kind for e in ev] == ["start", "end"]
    assert ev[0].start == 10 * CHUNK
    assert ev[1].end == 40 * CHUNK  # end of the last speech chunk, not of the hangover


def test_short_click_does_not_start_speech():
    ep = Endpointer(VADOptions(min_speech_ms=160))
    assert feed(ep, [0.0] * 5 + [0.95] * 2 + [0.0] * 30) == []


def test_hysteresis_keeps_speech_through_dips_above_offset():
    ep = Endpointer(VADOptions(onset=0.6, offset=0.3, hangover_ms=200))
    probs = [0.9] * 10 + [0.4] * 20 + [0.9] * 10 + [0.0] * 20  # 0.4 is below onset, above offset
    ev = feed(ep, probs)
    assert [e.kind for e in ev] == ["start", "end"]


def test_pause_shorter_than_hangover_does_not_end_the_turn():
    ep = Endpointer(VADOptions(hangover_ms=400))
    probs = [0.9] * 20 + [0.0] * chunks(300) + [0.9] * 20 + [0.0] * chunks(500)
    assert [e.kind for e in feed(ep, probs)] == ["start", "end"]
    ep2 = Endpointer(VADOptions(hangover_ms=200))
    assert [e.kind for e in feed(ep2, probs)] == ["start", "end", "start", "end"]


def test_utterance_is_capped():
    ep = Endpointer(VADOptions(max_utterance_ms=3200))
    ev = feed(ep, [0.9] * 250)
    ends = [e for e in ev if e.kind == "end"]
    assert len(ends) >= 2 and all(e.end - e.start <= 3200 * 16 for e in ends)


def test_end_of_input_closes_open_speech():
    ep = Endpointer()
    ev = feed(ep, [0.9] * 20)
    assert [e.kind for e in ev] == ["start", "end"]


def test_bad_thresholds_rejected():
    with pytest.raises(ValueError):
        VADOptions(onset=0.3, offset=0.5)


class EnergyDetector:
    """A stand-in detector for stage-wiring tests: loud chunks are speech. (Model tests use Silero.)"""

    def prob(self, chunk):
        return float(np.sqrt(np.mean(chunk ** 2)) > 0.05)

    def reset(self):
        pass

    def fork(self):
        return EnergyDetector()


async def test_vad_stage_resamples_and_returns_the_utterance():
    rate = 48000
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate) * 32767).astype(np.int16)
    signal = np.concatenate([np.zeros(rate // 2, np.int16), tone, np.zeros(rate, np.int16)])
    stereo = np.stack([signal, signal], axis=1)
    frames = [AudioFrame(pcm=stereo[i:i + 960], sample_rate=rate, channels=2) for i in range(0, len(stereo), 960)]
    out = await run_test(VADStage(EnergyDetector(), VADOptions(hangover_ms=300, pre_roll_ms=0, post_roll_ms=0)), frames,
                         expected=[Interrupt, SpeechStarted, SpeechEnded, Commit], ignore=(AudioFrame, UserSound))
    _, start, end, _ = [f for f in out if not isinstance(f, (AudioFrame, UserSound))]
    assert start.turn == end.turn == 1
    assert abs(end.audio_start - 0.5) < 0.05 and abs(end.audio_end - 1.5) < 0.05
    assert abs(len(end.audio) / 16000 - 1.0) < 0.05  # 1 s of tone at 16 kHz
    assert end.audio.dtype == np.float32


async def test_barge_in_can_be_turned_off():
    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate) * 32767).astype(np.int16)
    signal = np.concatenate([tone, np.zeros(rate, np.int16)])
    frames = [AudioFrame(pcm=signal[i:i + 320], sample_rate=rate) for i in range(0, len(signal), 320)]
    await run_test(VADStage(EnergyDetector(), VADOptions(interrupt=False)), frames,
                   expected=[SpeechStarted, SpeechEnded, Settled, Commit], ignore=(AudioFrame, UserSound, PostRoll))


def test_pause_is_announced_before_the_hangover_and_resume_cancels_it():
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=160))
    probs = [0.9] * 20 + [0.0] * chunks(250) + [0.9] * 10 + [0.0] * chunks(600)
    kinds = [e.kind for e in feed(ep, probs, speculative=True)]
    assert kinds == ["start", "pause", "settled", "resume", "pause", "settled", "end"]
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=160))
    events = feed(ep, [0.9] * 20 + [0.0] * chunks(600), speculative=True)
    pause, end = events[1], events[2]
    assert pause.end == end.end == 20 * CHUNK  # the same utterance: the pause's work stands
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=160))
    at = {e.kind: i for i, p in enumerate([0.9] * 20 + [0.0] * chunks(600)) for e in ep.feed(p)}
    assert at["pause"] - 19 == chunks(160) and at["end"] - 19 == chunks(400)  # silence chunks after the speech


def test_speculation_off_and_bad_values():
    ep = Endpointer(VADOptions(speculate_ms=0))
    assert [e.kind for e in feed(ep, [0.9] * 20 + [0.0] * 30, speculative=True)] == ["start", "end"]
    with pytest.raises(ValueError):
        VADOptions(hangover_ms=300, speculate_ms=300)


def tone_frames(pattern, rate=16000):
    """pattern: list of (seconds, loud?) -> 20 ms AudioFrames."""
    parts = []
    for sec, loud in pattern:
        n = int(sec * rate)
        parts.append((0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / rate) * 32767).astype(np.int16) if loud
                     else np.zeros(n, np.int16))
    sig = np.concatenate(parts)
    return [AudioFrame(pcm=sig[i:i + 320], sample_rate=rate) for i in range(0, len(sig), 320)]


async def test_vad_stage_speculates_then_commits_or_resumes():
    opts = VADOptions(hangover_ms=400, speculate_ms=160, pre_roll_ms=0, post_roll_ms=0)
    out = await run_test(VADStage(EnergyDetector(), opts), tone_frames([(1, True), (1, False)]),
                         ignore=(AudioFrame, UserSound))
    kinds = [f.kind for f in out if not isinstance(f, (AudioFrame, UserSound))]
    assert kinds == ["Interrupt", "SpeechStarted", "SpeechEnded", "Commit"]
    ended = next(f for f in out if isinstance(f, SpeechEnded))
    assert ended.speculative and abs(len(ended.audio) / 16000 - 1.0) < 0.05
    # a pause shorter than the hangover, then more speech: the first attempt is cancelled, the turn redone
    out = await run_test(VADStage(EnergyDetector(), opts), tone_frames([(1, True), (0.3, False), (0.5, True),
                                                                          (1, False)]), ignore=(AudioFrame, UserSound))
    kinds = [f.kind for f in out if not isinstance(f, (AudioFrame, UserSound))]
    assert kinds == ["Interrupt", "SpeechStarted", "SpeechEnded", "Interrupt", "SpeechEnded", "Commit"]
    resume = [f for f in out if isinstance(f, Interrupt)][1]
    assert resume.reason == "resume" and resume.turn == 1
    last = [f for f in out if isinstance(f, SpeechEnded)][-1]
    assert abs(len(last.audio) / 16000 - 1.8) < 0.06  # the whole turn, both parts


async def test_partial_utterances_while_talking_only_when_asked():
    from omnirt.runtime.frames import PartialUtterance
    opts = VADOptions(partial_every_ms=500, pre_roll_ms=0, post_roll_ms=0)
    out = await run_test(VADStage(EnergyDetector(), opts), tone_frames([(2, True), (1, False)]),
                         ignore=(AudioFrame, UserSound))
    partials = [f for f in out if isinstance(f, PartialUtterance)]
    assert 2 <= len(partials) <= 4
    assert all(a.audio.size < b.audio.size for a, b in zip(partials, partials[1:]))  # growing
    assert all(p.turn == 1 for p in partials)
    # the speech in it, pre-roll not counted: with no pre-roll, the whole of it (to within the onset's lookback)
    assert all(abs(p.speech_s - p.audio.size / 16000) <= 0.3 and p.speech_s > 0 for p in partials)
    out = await run_test(VADStage(EnergyDetector(), VADOptions(partial_every_ms=500, pre_roll_ms=300,
                                                               post_roll_ms=0)),
                         tone_frames([(1, False), (2, True), (1, False)]), ignore=(AudioFrame, UserSound))
    rolled = [f for f in out if isinstance(f, PartialUtterance)]
    assert rolled and all(p.audio.size / 16000 - p.speech_s >= 0.25 for p in rolled)
    out = await run_test(VADStage(EnergyDetector(), VADOptions()), tone_frames([(2, True), (1, False)]))
    assert not any(isinstance(f, PartialUtterance) for f in out)


def test_early_pause_settles_when_the_post_roll_is_complete():
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=64, post_roll_ms=200))
    at = {e.kind: i for i, p in enumerate([0.9] * 20 + [0.0] * chunks(600)) for e in ep.feed(p)}
    assert at["pause"] - 19 == chunks(64) and at["settled"] - 19 == chunks(200) and at["end"] - 19 == chunks(400)
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=0, post_roll_ms=200))  # no speculation: nothing to settle
    assert [e.kind for e in feed(ep, [0.9] * 20 + [0.0] * 30, speculative=True)] == ["start", "end"]


def test_tail_is_louder_than_the_background():
    from omnirt.runtime.vad import tail_is_louder
    rng = np.random.default_rng(0)
    hum = 0.002 * rng.standard_normal(16000).astype(np.float32)
    speech = np.concatenate([hum, 0.3 * np.sin(np.arange(16000) / 5).astype(np.float32), hum])
    assert not tail_is_louder(hum[:3200], speech)  # more background
    burst = hum[:3200].copy()
    burst[800:1600] += 0.03 * rng.standard_normal(800).astype(np.float32)  # a 50 ms "t"
    assert tail_is_louder(burst, speech)
    assert not tail_is_louder(np.zeros(3200, np.float32), np.zeros(3200, np.float32))  # digital silence
    # over digital silence (a DTX sender's pauses): the fading end of the last word only falls ...
    quiet = np.concatenate([np.zeros(16000, np.float32), speech[16000:32000]])
    wave = np.sin(np.arange(3200) / 5).astype(np.float32)
    fade = (wave * 0.008 * np.exp(-np.arange(3200) / 200)).astype(np.float32)
    lead = 0.012 * wave[:160]
    assert tail_is_louder(fade, quiet) and not tail_is_louder(fade, quiet, lead=lead)
    # ... where a faint final consonant rises out of the pause before it (/s/ at 8 kHz: -50 dBFS)
    s = 0.001 * wave
    s[1600:2400] = 0.0035 * rng.standard_normal(800)
    assert tail_is_louder(s, quiet, lead=lead)


async def test_final_consonant_after_an_early_speculation_redoes_the_turn():
    rate = 16000
    opts = VADOptions(hangover_ms=400, speculate_ms=64, pre_roll_ms=0, post_roll_ms=200)
    tone = tone_frames([(1, True)])
    rng = np.random.default_rng(1)
    burst = np.zeros(int(0.6 * rate), np.int16)
    burst[1600:2560] = (0.03 * 32767 * rng.standard_normal(960)).astype(np.int16)  # 100-160 ms: below the VAD
    tail = [AudioFrame(pcm=burst[i:i + 320], sample_rate=rate) for i in range(0, len(burst), 320)]
    out = await run_test(VADStage(EnergyDetector(), opts), tone + tail, ignore=(AudioFrame, UserSound))
    kinds = [f.kind for f in out if not isinstance(f, (AudioFrame, UserSound))]
    assert kinds == ["Interrupt", "SpeechStarted", "SpeechEnded", "Interrupt", "SpeechEnded", "Commit"]
    first, redo = [f for f in out if isinstance(f, SpeechEnded)]
    assert first.speculative and redo.speculative
    assert first.post_roll_follows and not redo.post_roll_follows  # (the redo carries its post-roll as heard)
    assert np.abs(first.audio[16000:]).max() < 0.01  # the early attempt ended before the burst ...
    assert np.abs(redo.audio[16000:]).max() > 0.05  # ... the redo carries it
    silent = await run_test(VADStage(EnergyDetector(), opts), tone + tone_frames([(0.6, False)]),
                            ignore=(AudioFrame, UserSound))
    assert [f.kind for f in silent if not isinstance(f, (AudioFrame, UserSound, PostRoll))] == [
        "Interrupt", "SpeechStarted", "SpeechEnded", "Settled", "Commit"]  # nothing after the cut: the early work
    # stands, and Settled says so before the hangover ends; the PostRoll (data: Settled overtakes it) carries the
    # post-roll as heard
    spec, heard = (next(f for f in silent if isinstance(f, kind)) for kind in (SpeechEnded, PostRoll))
    assert spec.post_roll_follows and abs(len(heard.audio) - len(spec.audio)) <= 512
    assert np.array_equal(heard.audio[:16000], spec.audio[:16000])


def _levels(ep, steps):
    """Feed (probability, rms) pairs; events with the chunk index at which each came."""
    return [(i, e) for i, (p, r) in enumerate(steps) for e in ep.feed(p, r) if e.kind not in ("onset", "onset_lost")]


def test_a_pause_the_detector_calls_inside_sound_says_so():
    # A faint last consonant: Silero lets go while the level is still within 26 dB of the speech.
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=32))
    faint = {e.kind: e for _, e in _levels(ep, [(0.95, 0.1)] * 20 + [(0.1, 0.02)] * 3 + [(0.0, 0.001)] * 20)}
    assert faint["pause"].in_sound
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=32))
    faded = {e.kind: e for _, e in _levels(ep, [(0.95, 0.1)] * 20 + [(0.1, 0.001)] * 20)}
    assert not faded["pause"].in_sound  # the level fell with it: the cut is in silence
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=32))
    assert not [e for _, e in _levels(ep, [(0.95, None)] * 20 + [(0.1, None)] * 20) if e.kind == "pause"][0].in_sound


def test_level_pause_comes_before_silero_lets_go():
    # Silero stays high for 3 chunks after the sound stops (its lag); the level drops at once.
    steps = [(0.95, 0.1)] * 20 + [(0.95, 0.001)] * 3 + [(0.0, 0.001)] * chunks(600)
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=64))
    at = {e.kind: (i, e) for i, e in _levels(ep, steps)}
    assert at["pause"][0] == 19 + chunks(64)  # two quiet chunks after the last loud one
    assert at["pause"][1].end == 20 * CHUNK  # the speech ended with the last loud chunk, not Silero's
    assert at["end"][0] == 22 + chunks(400)  # the hangover is Silero's: it starts after its lag
    # Without levels the same probabilities pause only after Silero's two silent chunks.
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=64))
    at = {e.kind: i for i, e in _levels(ep, [(p, None) for p, _ in steps])}
    assert at["pause"] == 22 + chunks(64)


def test_quiet_gap_inside_speech_pauses_then_resumes():
    steps = [(0.95, 0.1)] * 20 + [(0.95, 0.002)] * 3 + [(0.95, 0.1)] * 10 + [(0.0, 0.0)] * chunks(600)
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=64))
    kinds = [e.kind for _, e in _levels(ep, steps)]
    assert kinds[:4] == ["start", "pause", "resume", "pause"] and kinds[-1] == "end"
    assert kinds.count("start") == 1  # one turn: the gap only cost a cancelled speculation


def test_noise_above_the_quiet_level_leaves_pauses_to_silero():
    steps = [(0.95, 0.1)] * 20 + [(0.95, 0.02)] * 3 + [(0.0, 0.02)] * chunks(600)  # -34 dBFS room noise
    ep = Endpointer(VADOptions(hangover_ms=400, speculate_ms=64))
    at = {e.kind: i for i, e in _levels(ep, steps)}
    assert at["pause"] == 22 + chunks(64)
    off = Endpointer(VADOptions(hangover_ms=400, speculate_ms=64, quiet_ratio=0.0))
    at = {e.kind: i for i, e in _levels(off, [(0.95, 0.1)] * 20 + [(0.95, 0.0)] * 3 + [(0.0, 0.0)] * 20)}
    assert at["pause"] == 22 + chunks(64)


def test_onset_events_come_at_the_first_speech_chunk_and_when_a_short_sound_ends():
    ep = Endpointer(VADOptions(min_speech_ms=250))
    cough = [0.0] * 3 + [0.9] * 4 + [0.0] * 5  # 128 ms: not speech
    events = [(i, e.kind) for i, p in enumerate(cough) for e in ep.feed(p)]
    assert events == [(3, "onset"), (7, "onset_lost")]
    ep = Endpointer(VADOptions(min_speech_ms=250))
    events = [(i, e.kind) for i, p in enumerate([0.0] * 3 + [0.9] * 20) for e in ep.feed(p)]
    assert events == [(3, "onset"), (3 + chunks(250) - 1, "start")]  # onset at once, start after 250 ms


async def test_vad_stage_announces_a_possible_start_of_speech():
    out = await run_test(VADStage(EnergyDetector()), tone_frames([(0.5, False), (0.1, True), (0.5, False)]),
                         ignore=(AudioFrame,))
    sounds = [f.active for f in out if isinstance(f, UserSound)]
    assert sounds == [True, False]  # 100 ms of tone: held, then released; no turn
    assert not any(isinstance(f, SpeechStarted) for f in out)


def test_an_utterance_judged_unfinished_waits_its_longer_hangover_and_the_next_does_not():
    o = VADOptions(hangover_ms=400, unfinished_hangover_ms=1200, speculate_ms=32)
    pause = [0.9] * 20 + [0.0] * chunks(700) + [0.9] * 20 + [0.0] * chunks(1400)
    ep = Endpointer(o)
    assert [e.kind for e in feed(ep, pause)] == ["start", "end", "start", "end"]  # cut at the 700 ms pause
    ep, kinds = Endpointer(o), []
    for i, p in enumerate(pause):
        events = ep.feed(p)
        if any(e.kind == "pause" for e in events) and i < 40:
            ep.judged(False)  # the gate judged the words before the pause unfinished
        kinds += [e.kind for e in events if e.kind in ("start", "end")]
    assert kinds == ["start", "end"]  # one turn across the pause
    kinds = []  # the longer wait belonged to that utterance only: the same endpointer cuts the next one
    for p in pause:
        kinds += [e.kind for e in ep.feed(p) if e.kind in ("start", "end")]
    assert kinds == ["start", "end", "start", "end"]
    ep = Endpointer(o)
    ep.judged(False)  # no utterance open: nothing to extend
    assert [e.kind for e in feed(ep, pause)] == ["start", "end", "start", "end"]


def test_a_doubtful_utterance_waits_the_middle_wait():
    o = VADOptions(hangover_ms=400, unfinished_hangover_ms=2100, speculate_ms=32)
    pause = [0.9] * 20 + [0.0] * chunks(700) + [0.9] * 20 + [0.0] * chunks(2400)
    for wait, kinds in ((1000, ["start", "end"]), (600, ["start", "end", "start", "end"])):
        ep, seen, ends = Endpointer(o), [], []
        for i, p in enumerate(pause):
            events = ep.feed(p)
            if any(e.kind == "pause" for e in events):
                ep.judged(False, wait)  # in doubt: the middle wait, not the long one
            seen += [e.kind for e in events if e.kind in ("start", "end")]
            ends += [i for e in events if e.kind == "end"]
        assert seen == kinds  # a 1000 ms wait spans the 700 ms pause; a 600 ms one does not
        assert ends[-1] - (len(pause) - chunks(2400)) == chunks(wait) - 1  # ended by the middle wait, not 2100 ms
    ep = Endpointer(o)
    for p in [0.9] * 20 + [0.0] * 2:
        ep.feed(p)
    ep.judged(False, 100)  # shorter than the plain hangover: the plain hangover
    assert [e.kind for p in [0.0] * chunks(300) for e in ep.feed(p) if e.kind == "end"] == []


def test_awaiting_a_judgement_keeps_the_utterance_open_until_it_comes():
    o = VADOptions(hangover_ms=400, unfinished_hangover_ms=1200, speculate_ms=32, await_judgement=True)
    pause = [0.9] * 20 + [0.0] * chunks(700) + [0.9] * 20 + [0.0] * chunks(1400)
    # no judgement (it is late): the 700 ms pause does not end the turn; the longer hangover ends it
    assert [e.kind for e in feed(Endpointer(o), pause)] == ["start", "end"]
    # judged finished 500 ms into the pause (after the plain hangover): the turn ends at once
    ep, ended = Endpointer(o), []
    for i, p in enumerate(pause):
        ended += [i for e in ep.feed(p) if e.kind == "end"]
        if i == 20 + chunks(500):
            ep.judged(True)
    assert ended[0] == 20 + chunks(500) + 1
    # after a resume the new words are awaited again: judged finished in a short pause, then the speaker goes on
    short = [0.9] * 20 + [0.0] * chunks(300) + [0.9] * 20 + [0.0] * chunks(1400)
    ep, ends = Endpointer(o), []
    for i, p in enumerate(short):
        if i == 20 + chunks(100):
            ep.judged(True)
        ends += [i for e in ep.feed(p) if e.kind == "end"]
    second = 20 + chunks(300) + 20  # where the second run of speech stops
    assert ends == [second + chunks(1200) - 1]
    # without speculation there is nothing to judge before the end: the plain hangover
    o2 = VADOptions(hangover_ms=400, unfinished_hangover_ms=1200, speculate_ms=0, await_judgement=True)
    assert [e.kind for e in feed(Endpointer(o2), pause)] == ["start", "end", "start", "end"]
