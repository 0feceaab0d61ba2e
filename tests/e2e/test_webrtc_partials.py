"""Live partial transcripts reach a real WebRTC client while the user is still talking (as `omnirt serve` does)."""

import pytest

from omnirt.runtime.session import SessionOptions
from omnirt.runtime.transports.webrtc import WebRTCOptions
from omnirt.runtime.vad import VADOptions

pytestmark = pytest.mark.models


async def test_partials_arrive_before_the_final_transcript():
    from omnirt.tools.clips import make_clip
    from omnirt.tools.voice import VoiceConfig, load_components
    from omnirt.tools.rtc_client import RTCClient
    from background_server import BackgroundServer

    options = WebRTCOptions(port=0, session=SessionOptions(vad=VADOptions(partial_every_ms=600)))
    server = BackgroundServer(load_components(VoiceConfig()), options)
    try:
        async with RTCClient(server.url) as client:
            # a long request, so that partials have time to come; the reply is not waited for (it is not the point)
            speech_end = await client.say(make_clip("Tell me a long story about a dragon who lives in a castle.",
                                                    "piper"))
            final = await client.wait_for(lambda: next((e for e in client.events if e["type"] == "user"
                                                        and e.get("final")), None), 40, "transcript")
    finally:
        server.stop()
    users = [e for e in client.events if e["type"] == "user" and e["turn"] == final["turn"]]
    partials = [e for e in users if not e["final"]]
    assert partials, "no partial transcript while talking"
    assert all(p["t"] < final["t"] for p in partials)
    assert partials[0]["t"] < speech_end + 0.1  # it came while the user was still talking
    assert "dragon" in final["text"].lower()
