"""The page in a real headless Firefox (Debian's firefox-esr), as its user meets it: no flags about networking, its
microphone the default PulseAudio source (a virtual one, fed with the spoken question), its speaker the default
sink, recorded. A spoken question is answered, and the answer is heard in what Firefox played.

Like the Chromium tests, the server and the browser share a network namespace of their own where this runs as root.
"""

import asyncio
import shutil
import tempfile

import numpy as np
import pytest

from omnirt.tools import netns
from omnirt.tools.firefox import close_page, open_firefox

pytestmark = [pytest.mark.models,
              pytest.mark.needs("firefox", "pulseaudio")]


@pytest.fixture
def net():
    """A network namespace of its own, entered for the fixture's duration (tools/netns.py)."""
    with netns.isolated() as ns:
        yield ns


async def test_firefox_holds_a_spoken_turn(net, tmp_path):
    import soundfile as sf

    from omnirt.models.registry import load_asr
    from omnirt.runtime.audio import resample
    from omnirt.tools.clips import make_clip
    from omnirt.tools.pulse import VirtualAudio
    from omnirt.tools.voice import VoiceConfig, load_components
    from background_server import BackgroundServer

    question = tmp_path / "question.wav"
    shutil.copy(make_clip("What is the capital of France?", "piper"), question)
    server = BackgroundServer(load_components(VoiceConfig()))
    try:
        with VirtualAudio() as va:
            proc, http, ws, page = await open_firefox(server.url, tempfile.mkdtemp(dir=tmp_path), env=va.env)
            try:
                await page.eval("document.getElementById('start').click()")
                s = await page.until(lambda s: s["status"] == "listening", 30, "the session to connect")
                peer = next(iter(server.server.sessions))
                offered = [line.split()[4] for line in peer.pc.remoteDescription.sdp.splitlines()
                           if line.startswith("a=candidate:")]
                print(f"\nFirefox offered ICE candidates at {offered}")
                assert offered and not any(c.startswith("127.") or c == "::1" for c in offered)
                # A person speaks once the microphone is live: Firefox's capture can start seconds after the
                # connection on a loaded host (a suite run once lost the whole question so).
                t0 = asyncio.get_running_loop().time()
                while peer.input_frames < 25:  # half a second of microphone audio has arrived
                    assert asyncio.get_running_loop().time() - t0 < 20, "Firefox's microphone never sent audio"
                    await asyncio.sleep(0.05)
                print(f"microphone audio arrived {asyncio.get_running_loop().time() - t0:.2f} s after 'listening'")
                with va.record_speaker(tmp_path / "played.wav") as rec:
                    await asyncio.to_thread(va.play_into_mic, question)
                    s = await page.until(lambda s: s["assistant"], 40, "an answer")
                    await page.until(lambda s: s["status"] == "listening", 30, "the answer to be spoken")
                    await asyncio.sleep(0.5)
                    rec.stop()
            finally:
                await close_page(proc, http, ws)
    finally:
        server.stop()
    print("user:", s["user"], "assistant:", s["assistant"], "error:", s["error"])
    # The question came through Firefox's capture (with its noise suppression on, as a user has it). Its last
    # word is not checked here: on a loaded host the final /s/ of "France" is sometimes lost and the turn heard
    # as "capital of friends" (issue 13's speculative cut, reproduced by tests/test_reply_cli.py at 8 kHz).
    assert "what is the capital of" in s["user"][0].lower() and s["assistant"][0].strip()
    played, rate = sf.read(str(tmp_path / "played.wav"), dtype="float32")
    heard = load_asr().transcribe(resample(np.asarray(played), rate, 16000)).text.lower()
    print("Firefox played:", heard)
    said = {w.strip(".,!?") for w in s["assistant"][0].lower().split()}
    assert len(said & {w.strip(".,!?") for w in heard.split()}) >= 0.6 * len(said), (heard, said)  # what it showed
    assert s["error"] == ""
