"""A small PyTorch Whisper (base-sized by default) that takes CTranslate2 weights with strict loading.

Used only at export time (and as the reference in tests): inference runs the ONNX graphs on onnxruntime.
Module names mirror the CTranslate2 variable names, so `state_dict_from_ct2` is a rename, and strict loading
proves that every weight found a home and nothing was left at its random initial value.

Two export-friendly shapes: `WhisperEncoderCross` maps a log-mel window to the decoder's cross-attention K/V for
all layers (the cross projections are done once per window, inside the encoder graph), and `WhisperDecoderStep`
runs T new tokens against a self-attention KV cache of P past positions and returns the last position's logits
plus the grown cache.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .ct2 import Ct2Model


@dataclass(frozen=True)
class Dims:
    """Whisper hyper-parameters (base: d 512, 8 heads, 6+6 layers)."""

    n_mels: int = 80
    d_model: int = 512
    heads: int = 8
    ffn: int = 2048
    enc_layers: int = 6
    dec_layers: int = 6
    n_audio_ctx: int = 1500
    n_text_ctx: int = 448
    vocab: int = 51865

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @classmethod
    def from_ct2(cls, m: Ct2Model) -> "Dims":
        def count(side: str) -> int:
            return len({k.split("/")[1] for k in m.variables if re.match(rf"{side}/layer_\d+/", k)})

        vocab, d = m["decoder/embeddings/weight"].shape
        return cls(n_mels=m["encoder/conv1/weight"].shape[1], d_model=d, heads=int(m["encoder/num_heads"]),
                   ffn=m["encoder/layer_0/ffn/linear_0/weight"].shape[0], enc_layers=count("encoder"),
                   dec_layers=count("decoder"), n_audio_ctx=m["encoder/position_encodings/encodings"].shape[0],
                   n_text_ctx=m["decoder/position_encodings/encodings"].shape[0], vocab=vocab)


class LayerNorm(nn.Module):
    """LayerNorm with CTranslate2's parameter names (gamma/beta), eps 1e-5."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.d = d
        self.gamma = nn.Parameter(torch.ones(d))
        self.beta = nn.Parameter(torch.zeros(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.layer_norm(x, (self.d,), self.gamma, self.beta, 1e-5)


class Ffn(nn.Module):
    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.layer_norm = LayerNorm(d)
        self.linear_0 = nn.Linear(d, hidden)
        self.linear_1 = nn.Linear(hidden, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_1(nn.functional.gelu(self.linear_0(self.layer_norm(x))))


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, t, d = x.shape
    return x.reshape(b, t, heads, d // heads).transpose(1, 2)  # [B, H, T, Dh]


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Plain softmax attention on [B, H, T, Dh] tensors; scale 1/sqrt(Dh) as Whisper uses."""
    scores = torch.matmul(q * (1.0 / math.sqrt(q.shape[-1])), k.transpose(-1, -2))
    if mask is not None:
        scores = scores + mask
    out = torch.matmul(torch.softmax(scores, dim=-1), v)
    b, h, t, dh = out.shape
    return out.transpose(1, 2).reshape(b, t, h * dh)


class SelfAttention(nn.Module):
    """Fused QKV projection (linear_0 rows: Q, K, V) and output projection (linear_1)."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.layer_norm = LayerNorm(d)
        self.linear_0 = nn.Linear(d, 3 * d)
        self.linear_1 = nn.Linear(d, d)

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = self.linear_0(self.layer_norm(x)).chunk(3, dim=-1)
        return _split_heads(q, self.heads), _split_heads(k, self.heads), _split_heads(v, self.heads)


class CrossAttention(nn.Module):
    """Query projection (linear_0), fused K/V projection of the encoder output (linear_1), output (linear_2)."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.layer_norm = LayerNorm(d)
        self.linear_0 = nn.Linear(d, d)
        self.linear_1 = nn.Linear(d, 2 * d)
        self.linear_2 = nn.Linear(d, d)

    def kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.linear_1(memory).chunk(2, dim=-1)
        return _split_heads(k, self.heads), _split_heads(v, self.heads)

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q = _split_heads(self.linear_0(self.layer_norm(x)), self.heads)
        return self.linear_2(_attend(q, k, v, None))


class EncoderLayer(nn.Module):
    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.self_attention = SelfAttention(dims.d_model, dims.heads)
        self.ffn = Ffn(dims.d_model, dims.ffn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.self_attention.qkv(x)
        x = x + self.self_attention.linear_1(_attend(q, k, v, None))
        return x + self.ffn(x)


class DecoderLayer(nn.Module):
    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.self_attention = SelfAttention(dims.d_model, dims.heads)
        self.attention = CrossAttention(dims.d_model, dims.heads)
        self.ffn = Ffn(dims.d_model, dims.ffn)


class Positions(nn.Module):
    def __init__(self, n: int, d: int) -> None:
        super().__init__()
        self.encodings = nn.Parameter(torch.zeros(n, d))


class Encoder(nn.Module):
    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dims.n_mels, dims.d_model, 3, padding=1)
        self.conv2 = nn.Conv1d(dims.d_model, dims.d_model, 3, stride=2, padding=1)
        self.position_encodings = Positions(dims.n_audio_ctx, dims.d_model)
        self.layers = nn.ModuleList(EncoderLayer(dims) for _ in range(dims.enc_layers))
        self.layer_norm = LayerNorm(dims.d_model)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, 80, N] (N even, <= 3000) -> encoder output [B, N/2, d]."""
        x = nn.functional.gelu(self.conv1(mel))
        x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.position_encodings.encodings[: x.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)


class Embeddings(nn.Module):
    def __init__(self, vocab: int, d: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(vocab, d))


class Decoder(nn.Module):
    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.embeddings = Embeddings(dims.vocab, dims.d_model)
        self.position_encodings = Positions(dims.n_text_ctx, dims.d_model)
        self.layers = nn.ModuleList(DecoderLayer(dims) for _ in range(dims.dec_layers))
        self.layer_norm = LayerNorm(dims.d_model)


class Whisper(nn.Module):
    def __init__(self, dims: Dims = Dims()) -> None:
        super().__init__()
        self.dims = dims
        self.encoder = Encoder(dims)
        self.decoder = Decoder(dims)


def _torch_name(ct2_name: str) -> str:
    return re.sub(r"layer_(\d+)", r"layers.\1", ct2_name).replace("/", ".")


def state_dict_from_ct2(m: Ct2Model) -> dict[str, torch.Tensor]:
    """Float variables renamed to this module's parameter names, widened f16 -> f32; metadata scalars skipped."""
    out = {}
    for name, arr in m.variables.items():
        if arr.ndim == 0 or not (np.issubdtype(arr.dtype, np.floating) or name in m.bf16):
            continue  # num_heads, activation, pre_norm, ... : configuration, not weights
        out[_torch_name(name)] = torch.from_numpy(np.ascontiguousarray(m.as_float32(name)))
    return out


def load_whisper(m: Ct2Model) -> Whisper:
    """Build the model from CTranslate2 weights with strict loading (missing or extra names raise)."""
    model = Whisper(Dims.from_ct2(m))
    model.load_state_dict(state_dict_from_ct2(m), strict=True)
    return model.eval()


class WhisperEncoderCross(nn.Module):
    """mel [1, 80, N] -> cross K, V [L, 1, H, N/2, Dh] for every decoder layer."""

    def __init__(self, model: Whisper) -> None:
        super().__init__()
        self.encoder = model.encoder
        self.cross = nn.ModuleList(layer.attention for layer in model.decoder.layers)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        memory = self.encoder(mel)
        kvs = [attn.kv(memory) for attn in self.cross]
        return torch.stack([k for k, _ in kvs]), torch.stack([v for _, v in kvs])


class WhisperDecoderStep(nn.Module):
    """tokens [B, T], self K/V cache [L, B, H, P, Dh], cross K/V [L, 1, H, A, Dh] -> logits [B, T, V] (the next
    token's after each position), new cache (P+T). B > 1 runs the hypotheses of a beam search in one call; they
    share the one audio's cross K/V (broadcast). Every position's logits, not only the last: a guessed continuation
    (the words of a partial transcript) is checked against greedy decoding in one call (decoder.py).

    The token embedding is held once, transposed ([d, V]): the lookup is a Gather on axis 1 and the output
    projection a plain MatMul on the same initializer, so the ONNX file stores the 106 MB table once and dynamic
    int8 quantisation can reach the projection (the largest matmul of a step).
    """

    def __init__(self, model: Whisper) -> None:
        super().__init__()
        self.decoder = model.decoder
        self.emb_t = nn.Parameter(model.decoder.embeddings.weight.detach().t().contiguous())

    def forward(self, tokens: torch.Tensor, self_k: torch.Tensor, self_v: torch.Tensor, cross_k: torch.Tensor,
                cross_v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dec = self.decoder
        past = self_k.shape[3]
        t = tokens.shape[1]
        x = self.emb_t.index_select(1, tokens.reshape(-1)).t().reshape(tokens.shape[0], t, -1)  # [B, T, d]
        positions = torch.arange(t, device=tokens.device) + past
        x = x + dec.position_encodings.encodings.index_select(0, positions)
        # Causal mask over [past + new] keys: query i (absolute past + i) sees keys 0 .. past + i.
        keys = torch.arange(t + past, device=tokens.device)
        mask = torch.where(keys.unsqueeze(0) > positions.unsqueeze(1), -1e9, 0.0).to(x.dtype)
        new_k, new_v = [], []
        for i, layer in enumerate(dec.layers):
            sa = layer.self_attention
            q, k, v = sa.qkv(x)
            k = torch.cat([self_k[i], k], dim=2)
            v = torch.cat([self_v[i], v], dim=2)
            new_k.append(k)
            new_v.append(v)
            x = x + sa.linear_1(_attend(q, k, v, mask))
            x = x + layer.attention(x, cross_k[i], cross_v[i])
            x = x + layer.ffn(x)
        return torch.matmul(dec.layer_norm(x), self.emb_t), torch.stack(new_k), torch.stack(new_v)
