"""Vision: the camera's latest frame is described off the audio path, and the Thinker reads it.

Sampling logic uses a slow scripted describer (to control timing); the real path renders printed text into a
frame, reads it with OCR and asks the spoken question "What does this say?" through the whole session."""

import asyncio
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from omnirt.runtime.clock import now
from omnirt.runtime.frames import AudioFrame, TextDone, VideoFrame, VisionContext
from omnirt.runtime.stage import Pipeline
from omnirt.runtime.vision import VisionOptions, VisionStage


def picture(text, size=(640, 360)):
    img = Image.new("RGB", size, "white")
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 56)
    except OSError:
        font = ImageFont.load_default(size=56)
    ImageDraw.Draw(img).text((40, 140), text, fill="black", font=font)
    return np.asarray(img)


class SlowDescriber:
    def __init__(self, delay=0.2):
        self.delay, self.calls = delay, 0

    def describe(self, image):
        self.calls += 1
        time.sleep(self.delay)
        return f"mean {int(image.mean())}"


async def test_frames_are_dropped_not_queued_and_audio_is_not_delayed():
    describer = SlowDescriber(0.2)
    stage = VisionStage(describer, VisionOptions(min_interval_s=0.1, busy_factor=1.0))
    audio_delay = []
    contexts = []
    async with Pipeline([stage]) as p:
        async def consume():
            async for f in p.frames():
                if isinstance(f, AudioFrame):
                    audio_delay.append(now() - f.ts)
                elif isinstance(f, VisionContext):
                    contexts.append(f)

        task = asyncio.create_task(consume())
        for i in range(60):  # 1.2 s: a camera at 50 fps with changing pictures, and microphone audio
            await p.push(VideoFrame(image=np.full((48, 64, 3), (i * 4) % 256, np.uint8)))
            await p.push(AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        await p.push(AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000))
        await asyncio.sleep(0.05)
        task.cancel()
    assert 2 <= describer.calls <= 6, describer.calls  # adaptive: ~ every 0.2-0.3 s, not 60 times
    assert stage.dropped > 40
    assert len(contexts) == describer.calls
    assert max(audio_delay) < 0.05, "audio waited behind a picture"


async def test_unchanged_view_is_not_described_again():
    describer = SlowDescriber(0.0)
    stage = VisionStage(describer, VisionOptions(min_interval_s=0.0))
    async with Pipeline([stage]) as p:
        for _ in range(5):
            await p.push(VideoFrame(image=np.full((48, 64, 3), 128, np.uint8)))
            await asyncio.sleep(0.02)
    assert describer.calls == 1


@pytest.mark.models
def test_ocr_describer_reads_printed_text():
    from omnirt.models.vision import OCRDescriber
    assert "SESAME" in OCRDescriber().describe(picture("OPEN SESAME")).upper()


@pytest.mark.models
async def test_what_does_this_say(tmp_path):
    from omnirt.models.vision import OCRDescriber
    from omnirt.runtime.session import VoiceSession
    from omnirt.tools.clips import make_clip
    from omnirt.tools.reply import ReplyConfig, load_components
    from omnirt.runtime.transports.file import wav_frames

    c = load_components(ReplyConfig())
    c.describer = OCRDescriber()
    session = VoiceSession(c)
    answer = ""
    seen_context = []

    described = asyncio.Event()

    async def source():
        # the text is held to the camera first (a person does that before asking); silence flows meanwhile
        yield VideoFrame(image=picture("FRESH BREAD"))
        for _ in range(1000):
            if described.is_set():
                break
            await asyncio.sleep(0.02)
            yield AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000)
        async for f in wav_frames(make_clip("What does this say?", "piper"), realtime=False, tail_silence_s=1.0):
            yield f

    async with session as pipeline:
        async for f in pipeline.run(source()):
            if isinstance(f, VisionContext):
                seen_context.append(f.text)
                described.set()
            if isinstance(f, TextDone):
                answer = f.text
    assert seen_context and "BREAD" in seen_context[0].upper()
    assert "bread" in answer.lower(), answer
