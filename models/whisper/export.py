"""Export Whisper base from its CTranslate2 weights to ONNX (fp32 and dynamic int8), run once at set-up time.

Writes into out_dir:
  encoder.onnx / encoder.int8.onnx   mel [B, 80, N] -> cross_k, cross_v [L, B, H, N/2, Dh]
  decoder.onnx / decoder.int8.onnx   tokens [B, T], self_k, self_v [L, B, H, P, Dh], cross_k, cross_v [L, B or 1,
                                     H, A, Dh] -> logits [B, T, V], new_k, new_v [L, B, H, P+T, Dh]
  config.json, vocabulary.txt        suppression lists and the token table, copied from the source
  whisper.json                       model dimensions and the tensor names above, for the runtime
B is a batch: the hypotheses of a beam search (sharing one window's cross K/V, batch 1, broadcast) or the windows
of several utterances decoded together (batch.py; cross K/V per row). TorchScript export (dynamo=False, opset 17)
writes IR 8, which onnxruntime 1.31 loads. int8 variants come from onnxruntime's quantize_dynamic on MatMul/Gemm
with constant weights (attention products stay float).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any

MAX_IR_VERSION = 13  # onnxruntime 1.31 refuses newer models
OPSET = 17

ENCODER_INPUTS = ["mel"]
ENCODER_OUTPUTS = ["cross_k", "cross_v"]
DECODER_INPUTS = ["tokens", "self_k", "self_v", "cross_k", "cross_v"]
DECODER_OUTPUTS = ["logits", "new_k", "new_v"]


def _step(console: Any, text: str):
    return console.status(text) if console is not None else nullcontext()


def _say(console: Any, text: str) -> None:
    if console is not None:
        console.print(text)


def _export_graphs(src_dir: Path, out_dir: Path, console: Any) -> dict:
    import torch

    from .ct2 import read_ct2
    from .torch_model import WhisperDecoderStep, WhisperEncoderCross, load_whisper

    t0 = time.perf_counter()
    with _step(console, "reading CTranslate2 weights into PyTorch (strict load)"):
        model = load_whisper(read_ct2(src_dir / "model.bin"))
    dims = model.dims
    _say(console, f"  loaded Whisper ({dims.enc_layers}+{dims.dec_layers} layers, d {dims.d_model}) "
                  f"in {time.perf_counter() - t0:.1f} s")
    kv = (dims.dec_layers, 1, dims.heads)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-derived Python ints are expected here
        t0 = time.perf_counter()
        with _step(console, "exporting encoder.onnx"):
            torch.onnx.export(
                WhisperEncoderCross(model).eval(), (torch.zeros(1, dims.n_mels, 3000),),
                str(out_dir / "encoder.onnx"), input_names=ENCODER_INPUTS, output_names=ENCODER_OUTPUTS,
                dynamic_axes={"mel": {0: "batch", 2: "frames"}, "cross_k": {1: "batch", 3: "audio"},
                              "cross_v": {1: "batch", 3: "audio"}},
                opset_version=OPSET, dynamo=False, do_constant_folding=True)
        _say(console, f"  encoder.onnx in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        with _step(console, "exporting decoder.onnx"):
            past = torch.zeros(dims.dec_layers, 2, dims.heads, 2, dims.head_dim)  # 2 beams: the batch axis is traced
            cross = torch.zeros(*kv, 1500, dims.head_dim)
            tokens = torch.tensor([[50258, 50259, 50359]] * 2)
            torch.onnx.export(
                WhisperDecoderStep(model).eval(), (tokens, past, past, cross, cross),
                str(out_dir / "decoder.onnx"), input_names=DECODER_INPUTS, output_names=DECODER_OUTPUTS,
                dynamic_axes={"tokens": {0: "beams", 1: "new"}, "self_k": {1: "beams", 3: "past"},
                              "self_v": {1: "beams", 3: "past"}, "cross_k": {1: "batch", 3: "audio"},
                              "cross_v": {1: "batch", 3: "audio"},
                              "logits": {0: "beams", 1: "new"}, "new_k": {1: "beams", 3: "total"},
                              "new_v": {1: "beams", 3: "total"}},
                opset_version=OPSET, dynamo=False, do_constant_folding=True)
        _say(console, f"  decoder.onnx in {time.perf_counter() - t0:.1f} s")
    return {"n_mels": dims.n_mels, "d_model": dims.d_model, "heads": dims.heads, "head_dim": dims.head_dim,
            "enc_layers": dims.enc_layers, "dec_layers": dims.dec_layers, "n_audio_ctx": dims.n_audio_ctx,
            "n_text_ctx": dims.n_text_ctx, "vocab": dims.vocab}


def _check_ir(path: Path) -> None:
    """Refuse a model onnxruntime 1.31 cannot load (and lower the field when only the header is too new)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    if model.ir_version > MAX_IR_VERSION:
        model.ir_version = MAX_IR_VERSION
        onnx.save(model, str(path))


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice is about static quantisation
    try:
        quantize_dynamic(str(src), str(dst), op_types_to_quantize=["MatMul", "Gemm"], weight_type=QuantType.QInt8,
                         extra_options={"MatMulConstBOnly": True})
    finally:
        root.setLevel(level)


def export(src_dir: Path, out_dir: Path, console: Any = None) -> list[str]:
    """Build the ONNX Whisper in out_dir from the CTranslate2 asset in src_dir; returns the files written."""
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    dims = _export_graphs(src_dir, out_dir, console)
    for name in ("encoder", "decoder"):
        t0 = time.perf_counter()
        with _step(console, f"quantising {name}.onnx to int8 (dynamic, MatMul weights)"):
            _quantize(out_dir / f"{name}.onnx", out_dir / f"{name}.int8.onnx")
        _say(console, f"  {name}.int8.onnx in {time.perf_counter() - t0:.1f} s")
    files = ["encoder.onnx", "decoder.onnx", "encoder.int8.onnx", "decoder.int8.onnx"]
    for f in files:
        _check_ir(out_dir / f)
    for f in ("config.json", "vocabulary.txt"):
        shutil.copyfile(src_dir / f, out_dir / f)
    meta = {"dims": dims, "encoder": {"inputs": ENCODER_INPUTS, "outputs": ENCODER_OUTPUTS},
            "decoder": {"inputs": DECODER_INPUTS, "outputs": DECODER_OUTPUTS}, "opset": OPSET}
    (out_dir / "whisper.json").write_text(json.dumps(meta, indent=1))
    files += ["config.json", "vocabulary.txt", "whisper.json"]
    sizes = ", ".join(f"{f} {(out_dir / f).stat().st_size / 1e6:.0f} MB" for f in files[:4])
    _say(console, f"  whisper-base-onnx: {sizes}; {time.perf_counter() - start:.0f} s in all")
    return files
