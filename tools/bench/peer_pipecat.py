"""A stock Pipecat voice bot on our models, as the peer that `omnirt bench latency --peer pipecat` measures against.

This file runs INSIDE .venv-pipecat (created by tools/bench/peer.py), never in omnirt's venv: Pipecat pins its own
aiortc, onnxruntime and numpy, and mixing them with ours would change what either side measures. So it imports
nothing from omnirt; every model path comes on the command line.

What runs is Pipecat as its documentation builds a bot, with the models omnirt uses:
  SmallWebRTC transport (aiortc) -> WhisperSTTService (faster-whisper on our Whisper base CTranslate2 weights)
  -> LLMContextAggregatorPair (SileroVADAnalyzer with default VADParams, Pipecat's default user-turn strategies:
  VAD/transcription start, LocalSmartTurnAnalyzerV3 stop) -> OpenAILLMService (our llama.cpp server, omnirt's
  spoken system prompt, greedy, 96 tokens) -> PiperTTSService (our en_US joe voice file; it is found on disk, so
  Pipecat downloads nothing) -> transport output.
Nothing is tuned: the point is what a stock pipeline on the same models and the same host gives.

Signalling is a tiny aiohttp endpoint, `POST /offer` {sdp, type} -> {sdp, type, pc_id}, as Pipecat's SmallWebRTC
examples do it (SmallWebRTCConnection.initialize, then get_answer). aioice is restricted to 127.0.0.1, as
omnirt.runtime.transports.ice.use_loopback_only does for test servers: the bench client offers only loopback, and
aioice never offers loopback by itself.

    .venv-pipecat/bin/python tools/bench/peer_pipecat.py --port P --whisper-dir D --piper-voice V.onnx \
        --llm-url http://127.0.0.1:Q/v1 --llm-model qwen2.5-coder-0.5b-instruct --system-prompt-file F

It prints `ready: http://127.0.0.1:P/` once the models are loaded and warm, then JSON lines: what was heard and
answered (`{"event": "user"|"assistant", "text": ...}`) and Pipecat's service metrics (`{"event": "metrics", "name":
"WhisperSTTService ttfb", "ms": ...}`), so the bench can show them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path


def use_loopback_only() -> None:
    """aioice offers only 127.0.0.1 (the same patch as omnirt.runtime.transports.ice.use_loopback_only)."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)


class Models:
    """The services' heavy parts, loaded and warmed once at start so that no turn pays a first-call cost (omnirt's
    server warms its models at start too). Services are still built per connection, as Pipecat bots are."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.system_prompt = Path(args.system_prompt_file).read_text()

    def stt(self):
        from pipecat.services.whisper.stt import WhisperSTTService

        # int8 on the CPU, the fastest faster-whisper setting on a 2-core machine; the rest at Pipecat's defaults
        return WhisperSTTService(settings=WhisperSTTService.Settings(model=self.args.whisper_dir, language="en"),
                                 device="cpu", compute_type=self.args.whisper_compute_type)

    def tts(self):
        from pipecat.services.piper.tts import PiperTTSService

        voice = Path(self.args.piper_voice)  # Pipecat loads <download_dir>/<voice>.onnx (+ .onnx.json)
        return PiperTTSService(settings=PiperTTSService.Settings(voice=voice.stem), download_dir=voice.parent)

    def llm(self):
        from pipecat.services.openai.llm import OpenAILLMService

        class LlamaCppLLMService(OpenAILLMService):
            """llama.cpp's server refuses the "developer" role (HTTP 500), which Pipecat's default empty-user-turn
            handling sends; Pipecat's own switch for such OpenAI-compatible servers sends it as "user" instead.
            Without it, one empty turn left that message in the context and every later request failed."""

            supports_developer_role = False

        return LlamaCppLLMService(api_key="none", base_url=self.args.llm_url,
                                settings=OpenAILLMService.Settings(model=self.args.llm_model, temperature=0.0,
                                                                   max_tokens=96))

    def warm(self) -> None:
        """One transcription, one synthesis and one chat completion with the system prompt (which the llama.cpp
        server then keeps in its prompt cache, as omnirt's embedded Thinker keeps its own)."""
        import numpy as np

        stt, tts = self.stt(), self.tts()
        t = time.monotonic()
        rng = np.random.default_rng(0)
        list(stt._model.transcribe(rng.normal(0, 0.01, 16000).astype(np.float32), language="en")[0])
        list(tts._voice.synthesize("Hello there."))
        body = json.dumps({"model": self.args.llm_model, "max_tokens": 8, "temperature": 0.0,
                           "messages": [{"role": "system", "content": self.system_prompt},
                                        {"role": "user", "content": "Hello."}]}).encode()
        req = urllib.request.Request(self.args.llm_url.rstrip("/") + "/chat/completions", body,
                                     {"Content-Type": "application/json", "Authorization": "Bearer none"})
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
        emit("warm", ms=round((time.monotonic() - t) * 1e3))


def metrics_observer():
    """Pipecat's own per-service metrics (time to first byte and processing time of STT, LLM and TTS), one JSON
    line each, so the bench can say where the peer's time goes. A MetricsFrame passes several processors: each is
    printed once."""
    from pipecat.frames.frames import MetricsFrame
    from pipecat.metrics.metrics import ProcessingMetricsData, TTFBMetricsData
    from pipecat.observers.base_observer import BaseObserver

    class Metrics(BaseObserver):
        seen: set[int] = set()

        async def on_push_frame(self, data) -> None:
            frame = data.frame
            if not isinstance(frame, MetricsFrame) or frame.id in self.seen:
                return
            self.seen.add(frame.id)
            for d in frame.data:
                if isinstance(d, (TTFBMetricsData, ProcessingMetricsData)) and d.value:
                    kind = "ttfb" if isinstance(d, TTFBMetricsData) else "processing"
                    emit("metrics", name=f"{d.processor.split('#')[0]} {kind}", ms=round(d.value * 1e3, 1))

    return Metrics()


async def run_bot(connection, models: Models) -> None:
    """One Pipecat pipeline on one WebRTC connection, until the client leaves."""
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.runner import PipelineRunner
    from pipecat.pipeline.task import PipelineParams, PipelineTask
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (LLMContextAggregatorPair,
                                                                       LLMUserAggregatorParams)
    from pipecat.transports.base_transport import TransportParams
    from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

    transport = SmallWebRTCTransport(webrtc_connection=connection,
                                     params=TransportParams(audio_in_enabled=True, audio_out_enabled=True))
    stt, llm, tts = await asyncio.to_thread(models.stt), models.llm(), await asyncio.to_thread(models.tts)
    context = LLMContext([{"role": "system", "content": models.system_prompt}])
    user, assistant = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer()))
    pipeline = Pipeline([transport.input(), stt, user, llm, tts, transport.output(), assistant])
    task = PipelineTask(pipeline, params=PipelineParams(enable_metrics=True), observers=[metrics_observer()])

    @user.event_handler("on_user_turn_stopped")
    async def _heard(aggregator, strategy, message) -> None:
        emit("user", text=getattr(message, "content", str(message)))

    @assistant.event_handler("on_assistant_turn_stopped")
    async def _said(aggregator, message) -> None:
        emit("assistant", text=getattr(message, "content", str(message)))

    @transport.event_handler("on_client_connected")
    async def _joined(transport, client) -> None:  # the pipeline runs: audio from now on is heard
        emit("connected")

    @transport.event_handler("on_client_disconnected")
    async def _left(transport, client) -> None:
        await task.cancel()

    await PipelineRunner(handle_sigint=False).run(task)


def make_app(models: Models):
    from aiohttp import web
    from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection

    bots: set[asyncio.Task] = set()

    async def offer(request: web.Request) -> web.Response:
        body = await request.json()
        connection = SmallWebRTCConnection(ice_servers=[])  # none: aiortc would add a public STUN server
        await connection.initialize(sdp=body["sdp"], type=body["type"])
        bot = asyncio.create_task(run_bot(connection, models))
        bots.add(bot)
        bot.add_done_callback(bots.discard)
        return web.json_response(connection.get_answer())

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "sessions": len(bots)})

    async def stop_bots(app: web.Application) -> None:
        for bot in list(bots):
            bot.cancel()
        await asyncio.gather(*bots, return_exceptions=True)

    app = web.Application()
    app.router.add_post("/offer", offer)
    app.router.add_get("/ready", ready)
    app.on_shutdown.append(stop_bots)
    return app


async def serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    models = Models(args)
    await asyncio.to_thread(models.warm)
    runner = web.AppRunner(make_app(models))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print(f"ready: http://127.0.0.1:{args.port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--whisper-dir", required=True, help="a CTranslate2 Whisper model folder (model.bin, ...)")
    p.add_argument("--whisper-compute-type", default="int8")
    p.add_argument("--piper-voice", required=True, help="a Piper voice .onnx with its .onnx.json beside it")
    p.add_argument("--llm-url", required=True, help="an OpenAI-compatible API root, http://HOST:PORT/v1")
    p.add_argument("--llm-model", required=True)
    p.add_argument("--system-prompt-file", required=True)
    p.add_argument("--log-level", default="WARNING", help="Pipecat's (loguru) log level")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a model name instead of a path must fail, not download
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level=args.log_level)
    use_loopback_only()
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
