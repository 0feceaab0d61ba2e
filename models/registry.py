"""Which model serves which role, where its files are, and what runs it.

Loaders import their backend lazily, so `omnirt models list` works in an environment without llama.cpp or Piper and
a missing extra or model fails with one line that names the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import assets


@dataclass(frozen=True)
class Role:
    role: str
    model: str  # asset or export name in the cache
    backend: str  # what executes it
    summary: str


ROLES: dict[str, Role] = {r.role: r for r in [
    Role("vad", "silero-vad", "webrtcvad gate + onnxruntime", "voice activity / endpointing"),
    Role("asr", "whisper-base-onnx", "onnxruntime (numpy greedy decoder)", "speech recognition, Whisper base"),
    Role("thinker", "qwen2.5-coder-1.5b-instruct", "llama.cpp (llama-cpp-python)", "language model, streaming"),
    Role("thinker-small", "qwen2.5-coder-0.5b-instruct", "llama.cpp (llama-cpp-python)",
         "smaller language model (the agent's LLM fallback; `--thinker 0.5b`)"),
    Role("thinker-http", "-", "any OpenAI-compatible server (--thinker-url)", "scale-out language model"),
    Role("talker", "piper-joe", "Piper on onnxruntime", "speech synthesis, en_US joe"),
    Role("talker-fallback", "-", "espeak-ng (espeakng-loader, in-process)", "speech synthesis needing only pip"),
    Role("text-encoder", "all-minilm-l6-v2-onnx", "onnxruntime", "sentence embeddings (UI label matching)"),
    Role("ocr", "-", "rapidocr (PP-OCR ONNX) on onnxruntime", "words with boxes"),
    Role("vision", "-", "OCR text of the camera's latest frame", "the Thinker's eyes (a vision-encoder slot)"),
]}

THINKER_MODELS = {"0.5b": "qwen2.5-coder-0.5b-instruct", "1.5b": "qwen2.5-coder-1.5b-instruct"}


def thinker_model(name: str) -> str:
    """The model asset a Thinker name means: "0.5b" / "1.5b" as the commands say them, or an asset name as is."""
    return THINKER_MODELS.get(name, name)


def status(role: Role) -> str:
    if role.model == "-":
        return "bundled"
    if role.model in assets.EXPORTS:
        return "ready" if assets.export_is_current(role.model) else "missing"
    return "ready" if assets.is_installed(role.model) else "missing"


def load_vad(**options: Any) -> Any:
    from .vad import GatedSileroDetector, GateOptions

    return GatedSileroDetector(GateOptions(**options))


def load_asr(**options: Any) -> Any:
    from .whisper import WhisperOnnx, WhisperOptions

    return WhisperOnnx.load(WhisperOptions(**options))


def load_thinker(model: str = "0.5b", **options: Any) -> Any:
    from .llama import LlamaChat, LlamaOptions

    return LlamaChat.load(LlamaOptions(model=thinker_model(model), **options))


def load_thinker_http(base_url: str, **options: Any) -> Any:
    """An OpenAI-compatible streaming chat server as the Thinker (async; no model loads here)."""
    from .openai_chat import OpenAIChat, OpenAIChatOptions

    return OpenAIChat(OpenAIChatOptions(base_url=base_url, **options))


def load_talker(kind: str = "piper", **options: Any) -> Any:
    if kind == "piper":
        from .piper import PiperOptions, PiperTalker

        return PiperTalker.load(PiperOptions(**options))
    if kind == "espeak":
        from .espeak import EspeakTalker

        return EspeakTalker.load()
    raise ValueError(f"unknown talker '{kind}': choose piper or espeak")


def load_vision(**options: Any) -> Any:
    from .vision import OCRDescriber, OCRDescriberOptions

    return OCRDescriber(OCRDescriberOptions(**options))
