"""The project's ONNX models on onnxruntime's CPU and CUDA execution providers, side by side.

Per model and input size: the provider that really ran (onnxruntime silently falls back to the CPU when CUDA's
libraries are missing), median and p95 latency after warm-up, and the largest difference between the two providers'
outputs (parity). Whisper also transcribes the project's clips end to end on both (encoder and KV-cache decoder on
the same provider, I/O binding keeping the caches on the device) and the transcripts are compared.

On a machine without a working CUDA provider the CUDA column says why and the CPU figures still come out, so the
command is useful everywhere. `--pack DIR` writes the models with their float weights stored as float16 (half the
bytes, to carry them to a GPU machine); `--models DIR` reads such a folder back, widening the weights to float32
first, so both providers run the same (rounded) weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

F16_SUFFIX = ".f16store.onnx"
OCR_FILES = ("PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx")


@dataclass
class Row:
    """One model at one input size: timings per provider (ms), parity, and what actually ran."""

    model: str
    shape: str
    cpu_ms: dict[str, float] = field(default_factory=dict)
    cuda_ms: dict[str, float] = field(default_factory=dict)
    cuda_ran: bool = False
    max_abs_diff: float | None = None
    note: str = ""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", default=None, help="folder written by --pack (default: the installed models)")
    p.add_argument("--runs", type=int, default=20, help="timed runs per model and provider (after 3 warm-ups)")
    p.add_argument("--json", default="bench-results/providers.json", help="where to write the results")
    p.add_argument("--pack", default=None, help="write the models (float16-stored) and clips here, then stop")
    p.add_argument("--cpu-threads", type=int, default=0, help="CPU provider threads per operator (0: all cores)")


# ---------------------------------------------------------------- model files

def _installed() -> dict[str, Path]:
    from omnirt.models import assets

    w = assets.require_export("whisper-base-onnx")
    files = {"whisper-encoder": w / "encoder.onnx", "whisper-decoder": w / "decoder.onnx",
             "silero-vad": assets.require("silero-vad") / "silero_vad.onnx"}
    import rapidocr

    ocr = Path(rapidocr.__file__).parent / "models"
    files.update({f"ocr-{n.split('_')[1]}": ocr / n for n in OCR_FILES})
    widgets = Path(__file__).resolve().parents[2] / "models" / "data" / "widgets.onnx"
    if widgets.is_file():
        files["widgets"] = widgets
    return files


def pack(out: Path) -> None:
    """Copy the models with float32 initializers stored as float16, plus Whisper's text files and the clips."""
    import shutil

    import onnx
    from onnx import numpy_helper

    from omnirt.tools.clips import SENTENCES, make_clips, read_audio

    out.mkdir(parents=True, exist_ok=True)
    for name, path in _installed().items():
        model = onnx.load(str(path))
        for init in model.graph.initializer:  # top-level weights only; subgraph tensors stay as they are
            if init.data_type == onnx.TensorProto.FLOAT and init.ByteSize() > 4096:
                init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
        onnx.save(model, str(out / f"{name}{F16_SUFFIX}"))
    w = Path(_installed()["whisper-encoder"]).parent
    for extra in ("config.json", "whisper.json", "vocabulary.txt"):
        shutil.copy(w / extra, out / extra)
    clips = make_clips(SENTENCES[:6], ("piper", "espeak"))
    np.savez_compressed(out / "clips.npz", **{f"clip{i}": read_audio(c.path) for i, c in enumerate(clips)},
                        texts=np.array([c.text for c in clips]))


def _unpacked(folder: Path, scratch: Path) -> dict[str, Path]:
    """Widen a packed folder's float16-stored weights back to float32 (the graphs expect float32)."""
    import onnx
    from onnx import numpy_helper

    scratch.mkdir(parents=True, exist_ok=True)
    files = {}
    for path in sorted(folder.glob(f"*{F16_SUFFIX}")):
        name = path.name[: -len(F16_SUFFIX)]
        target = scratch / f"{name}.onnx"
        if not target.exists():
            model = onnx.load(str(path))
            for init in model.graph.initializer:
                if init.data_type == onnx.TensorProto.FLOAT16:
                    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), init.name))
            onnx.save(model, str(target))
        files[name] = target
    return files


# ---------------------------------------------------------------- inputs per model

def _feeds(name: str, rng: np.random.Generator) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Representative inputs: (label, feed) pairs sized as the runtime uses them."""
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    if name == "whisper-encoder":
        return [("10 s window", {"mel": f32(1, 80, 1000) * 0.5}), ("30 s window", {"mel": f32(1, 80, 3000) * 0.5})]
    if name == "silero-vad":
        return [("32 ms chunk", {"input": f32(1, 512) * 0.1, "state": np.zeros((2, 1, 128), np.float32),
                                 "sr": np.array(16000, dtype=np.int64)})]
    if name == "ocr-det":
        return [("224x160 crop", {"x": rng.random((1, 3, 224, 160), np.float32)}),
                ("1280x800 screen", {"x": rng.random((1, 3, 800, 1280), np.float32)})]
    if name == "ocr-rec":
        return [("16 lines", {"x": rng.random((16, 3, 48, 320), np.float32)})]
    if name == "widgets":
        return []  # filled from the model's own input spec in _generic_feeds
    return []


def _generic_feeds(sess: Any, rng: np.random.Generator) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Inputs for a model with one image-like input: a 1280x800 screen and a 210x160 crop (NCHW or NHWC)."""
    (inp,) = sess.get_inputs()
    feeds = []
    for label, (h, w) in (("210x160 crop", (224, 160)), ("1280x800 screen", (800, 1280))):
        dims = [d if isinstance(d, int) else None for d in inp.shape]
        shape = [1, 3, h, w] if dims[1] in (1, 3) else [1, h, w, 3]
        if dims[1] == 1:
            shape[1] = 1
        feeds.append((label, {inp.name: rng.random(shape, np.float32)}))
    return feeds


def _time(run: Callable[[], Any], runs: int) -> tuple[dict[str, float], Any]:
    out = None
    for _ in range(3):
        out = run()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        out = run()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {"p50": round(statistics.median(ms), 2), "p95": round(ms[int(0.95 * (len(ms) - 1))], 2)}, out


def _diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(max(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))) for x, y in zip(a, b)))


# ---------------------------------------------------------------- the runs

def _sessions(path: Path, threads: int, cuda: bool) -> tuple[Any, Any | None]:
    from omnirt.models import onnx

    cpu = onnx.session(path, onnx.SessionOptions(intra_threads=threads, provider="cpu"))
    gpu = onnx.session(path, onnx.SessionOptions(provider="cuda")) if cuda else None
    return cpu, gpu


def bench_models(files: dict[str, Path], runs: int, threads: int, cuda: bool, log: Callable[[str], None]) -> list[Row]:
    rng = np.random.default_rng(0)
    rows = []
    for name, path in files.items():
        if name == "whisper-decoder":
            continue  # timed inside the end-to-end transcription
        cpu, gpu = _sessions(path, threads, cuda)
        feeds = _feeds(name, rng) or _generic_feeds(cpu, rng)
        for label, feed in feeds:
            row = Row(name, label)
            row.cpu_ms, ref = _time(lambda: cpu.run(None, feed), runs)
            if gpu is not None:
                row.cuda_ran = gpu.get_providers()[0] == "CUDAExecutionProvider"
                row.cuda_ms, got = _time(lambda: gpu.run(None, feed), runs)
                row.max_abs_diff = _diff(ref, got)
            log(f"{name:16s} {label:16s} cpu p50 {row.cpu_ms['p50']:8.2f} ms   cuda p50 "
                f"{row.cuda_ms.get('p50', float('nan')):8.2f} ms   max|diff| {row.max_abs_diff}")
            rows.append(row)
    return rows


def bench_whisper(files: dict[str, Path], clips: dict[str, Any], threads: int, cuda: bool,
                  log: Callable[[str], None]) -> dict[str, Any]:
    """Transcribe each clip with encoder+decoder on the CPU, then on CUDA; same transcripts, per-clip timings."""
    from omnirt.models.whisper import WhisperOptions
    from omnirt.models.whisper.decoder import GreedyDecoder
    from omnirt.models.whisper.tokenizer import WhisperTokenizer

    meta_dir = clips["meta_dir"]
    config = json.loads((meta_dir / "config.json").read_text())
    dims = json.loads((meta_dir / "whisper.json").read_text())["dims"]
    tok = WhisperTokenizer.from_file(meta_dir / "vocabulary.txt")
    settings = WhisperOptions(precision="fp32").settings()
    result: dict[str, Any] = {"clips": len(clips["audio"])}
    for device in ("cpu", "cuda") if cuda else ("cpu",):
        enc, dec = (_sessions(files[n], threads, device == "cuda")[device == "cuda"]
                    for n in ("whisper-encoder", "whisper-decoder"))
        if device == "cuda" and enc.get_providers()[0] != "CUDAExecutionProvider":
            result["cuda_note"] = "CUDA provider did not load for Whisper"
            break
        decoder = GreedyDecoder(enc, dec, tok, config, dims, device)
        decoder.transcribe(clips["audio"][0], settings)  # warm-up (CUDA: kernels, cuDNN algorithm search)
        texts, total, enc_ms, dec_ms = [], [], [], []
        for audio in clips["audio"]:
            t = time.perf_counter()
            d = decoder.transcribe(audio, settings)
            total.append((time.perf_counter() - t) * 1000)
            enc_ms.append(d.encode_ms)
            dec_ms.append(d.decode_ms)
            texts.append("".join(s[2] for s in d.segments).strip())
        result[device] = {"total_ms_p50": round(statistics.median(total), 1), "encode_ms_p50":
                          round(statistics.median(enc_ms), 1), "decode_ms_p50": round(statistics.median(dec_ms), 1),
                          "texts": texts}
        log(f"whisper {device}: transcribe p50 {result[device]['total_ms_p50']} ms (encode "
            f"{result[device]['encode_ms_p50']}, decode {result[device]['decode_ms_p50']}) over {len(texts)} clips")
    if "cuda" in result:
        same = [a == b for a, b in zip(result["cpu"]["texts"], result["cuda"]["texts"])]
        result["same_transcripts"] = f"{sum(same)}/{len(same)}"
        log(f"whisper transcripts equal on cpu and cuda: {result['same_transcripts']}")
    result["references"] = clips["texts"]
    return result


def _cuda_status() -> tuple[bool, str]:
    from omnirt.models import onnx

    rt = onnx.ort()
    listed = rt.get_available_providers()
    if onnx.CUDA not in listed:
        return False, f"onnxruntime {rt.__version__} lists no CUDA provider ({', '.join(listed)})"
    if onnx.CUDA not in onnx.probe_providers():
        return False, "CUDA provider listed but it does not load here (no GPU or CUDA libraries)"
    return True, f"onnxruntime {rt.__version__}: CUDA provider works"


def run(args: argparse.Namespace, console: Any) -> int:
    if args.pack:
        pack(Path(args.pack))
        console.print(f"packed models and clips into {args.pack}")
        return 0
    cuda, status = _cuda_status()
    console.print(status)
    if args.models:
        folder = Path(args.models)
        files = _unpacked(folder, folder / "fp32")
        data = np.load(folder / "clips.npz")
        clips = {"audio": [data[k] for k in data.files if k.startswith("clip")], "texts": list(data["texts"]),
                 "meta_dir": folder}
    else:
        from omnirt.tools.clips import SENTENCES, make_clips, read_audio

        files = _installed()
        made = make_clips(SENTENCES[:6], ("piper", "espeak"))
        clips = {"audio": [read_audio(c.path) for c in made], "texts": [c.text for c in made],
                 "meta_dir": files["whisper-encoder"].parent}
    log = lambda line: console.print(line, soft_wrap=True, highlight=False)  # noqa: E731
    rows = bench_models(files, args.runs, args.cpu_threads, cuda, log)
    whisper = bench_whisper(files, clips, args.cpu_threads, cuda, log)
    out = {"cuda": cuda, "status": status, "rows": [asdict(r) for r in rows], "whisper": whisper,
           "machine": _machine()}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    console.print(f"wrote {args.json}")
    return 0


def _machine() -> dict[str, Any]:
    import os
    import platform

    info = {"cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        import subprocess

        info["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                     capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["gpu"] = ""
    return info


if __name__ == "__main__":
    from rich.console import Console

    parser = argparse.ArgumentParser(prog="omnirt bench providers")
    add_arguments(parser)
    raise SystemExit(run(parser.parse_args(), Console()))
