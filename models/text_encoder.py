"""Sentence embeddings (all-MiniLM-L6-v2) on onnxruntime, for matching spoken intents to UI labels.

`export()` runs once at set-up time (torch + transformers): it puts the BERT encoder, the attention-masked mean
pooling and the L2 normalisation into ONE ONNX graph, so inference is a single session call. At run time only the
`tokenizers` library and onnxruntime are used: no torch, no transformers.
"""

from __future__ import annotations

import functools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnirt.models import assets

ASSET = "all-minilm-l6-v2"
EXPORT = "all-minilm-l6-v2-onnx"
MODEL_FILE = "model.onnx"
DIM = 384
# Files the runtime needs beside the graph: tokenizer.json drives `tokenizers`; the others document the model.
_COPIED = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "config.json")
_META = "encoder.json"  # written by export(): input names and the embedding size


# ---------------------------------------------------------------- export (set-up time only)

def export(src_dir: Path, out_dir: Path, console: Any = None) -> list[str]:
    """Export the sentence-transformers folder to `out_dir/model.onnx` (+ tokenizer); returns relative paths."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import warnings

    import onnx
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    src_dir, out_dir = Path(src_dir), Path(out_dir)
    pooling = json.loads((src_dir / "1_Pooling" / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ValueError(f"{src_dir}: expected mean pooling, got {pooling}")
    bert = AutoModel.from_pretrained(str(src_dir), attn_implementation="eager").eval()
    use_types = getattr(bert.config, "type_vocab_size", 0) > 0

    class Pooled(torch.nn.Module):
        """BERT -> masked mean over tokens -> unit length: sentence-transformers' Transformer+Pooling+Normalize."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids=None):  # type: ignore[no-untyped-def]
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            mean = summed / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if use_types else [])
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    args = (ids, mask) + ((torch.zeros_like(ids),) if use_types else ())
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["embedding"] = {0: "batch"}
    target = out_dir / MODEL_FILE
    if console:
        console.print(f"  torch.onnx.export -> {target.name} (opset 17, inputs {', '.join(names)})")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches: the axes stay dynamic
        torch.onnx.export(Pooled().eval(), args, str(target), input_names=names, output_names=["embedding"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)
    model = onnx.load(str(target))
    if model.ir_version > 13:  # onnxruntime 1.31 refuses newer IR versions
        model.ir_version = 13
        onnx.save(model, str(target))
    onnx.checker.check_model(str(target))
    written = [MODEL_FILE]
    for name in _COPIED:
        if (src_dir / name).is_file():
            shutil.copy2(src_dir / name, out_dir / name)
            written.append(name)
    (out_dir / _META).write_text(json.dumps({"inputs": names, "dim": DIM, "source": ASSET}, indent=1))
    written.append(_META)
    if console:
        console.print(f"  wrote {', '.join(written)}")
    return written


# ---------------------------------------------------------------- runtime

@dataclass(frozen=True)
class TextEncoderOptions:
    """Knobs for the runtime encoder.

    max_length: tokens per text including [CLS]/[SEP]; longer texts are truncated (UI labels and commands are
        short; the model was trained at 128).
    intra_threads: onnxruntime threads per operator; 1 keeps it from competing with the audio stages.
    """

    max_length: int = 128
    intra_threads: int = 1


class TextEncoder:
    """all-MiniLM-L6-v2 embeddings: unit-length float32 vectors of size 384, cosine similarity = dot product."""

    def __init__(self, directory: Path, options: TextEncoderOptions) -> None:
        from tokenizers import Tokenizer

        from omnirt.models.onnx import SessionOptions, session

        if options.max_length < 2:
            raise ValueError(f"max_length must be >= 2 (room for [CLS] and [SEP]), got {options.max_length}")
        self.options = options
        self._session = session(directory / MODEL_FILE, SessionOptions(intra_threads=options.intra_threads))
        self._inputs = [i.name for i in self._session.get_inputs()]
        tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tok.enable_truncation(max_length=options.max_length)
        pad_id = tok.token_to_id("[PAD]") or 0
        tok.enable_padding(pad_id=pad_id, pad_token="[PAD]")  # pad to the longest text in the batch
        self._tokenizer = tok

    @classmethod
    def load(cls, options: TextEncoderOptions = TextEncoderOptions()) -> "TextEncoder":
        """The cached encoder for these options; ModelMissingError when the export is not built."""
        return _load(options)

    def encode(self, texts: list[str]) -> np.ndarray:
        """[len(texts), 384] float32, each row L2-normalised."""
        if isinstance(texts, str):
            raise ValueError("encode() takes a list of strings, got a single str")
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("encode() takes a list of strings")
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        enc = self._tokenizer.encode_batch(list(texts))
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        (out,) = self._session.run(None, {k: feeds[k] for k in self._inputs})
        return np.ascontiguousarray(out, dtype=np.float32)

    def similarity(self, a: str, b: list[str]) -> np.ndarray:
        """Cosine similarity of text `a` to each of `b`: float32 [len(b)]."""
        if not b:
            return np.zeros((0,), dtype=np.float32)
        emb = self.encode([a, *b])
        return emb[1:] @ emb[0]

    def best_match(self, query: str, labels: list[str]) -> tuple[int, float]:
        """(index, cosine similarity) of the label closest in meaning to `query`."""
        if not labels:
            raise ValueError("best_match() needs at least one label")
        sims = self.similarity(query, labels)
        i = int(np.argmax(sims))
        return i, float(sims[i])


@functools.lru_cache(maxsize=4)
def _load(options: TextEncoderOptions) -> TextEncoder:
    return TextEncoder(assets.require_export(EXPORT), options)
