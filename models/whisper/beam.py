"""Beam search over one Whisper window, as CTranslate2 runs it for faster-whisper (beam_size N, patience 1,
length penalty 1): the live hypotheses are one batch of the decoder step, sharing the window's cross K/V.

Why: greedy decoding commits to each token's best guess; on robotic, telephone or noisy speech the best sentence
often starts with a second-best token, which only a search over several hypotheses finds. Each step keeps the N best
(cumulative log-probability) continuations; a hypothesis that ends (end-of-text among the N best candidates) is set
aside, and the search stops when N have ended. The winner has the best cumulative log-probability per token.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .decoder import MAX_NEW_TOKENS, GreedyDecoder, WindowResult, _log_softmax


def _step(dec: GreedyDecoder, tokens: np.ndarray, cache: tuple[np.ndarray, np.ndarray], cross: tuple[Any, Any],
          ro: Any) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """tokens [B, 1] with caches [L, B, H, P, Dh] as numpy (a beam reorders them) -> logits [B, V], caches P+1."""
    binding = dec.decoder.io_binding()
    binding.bind_cpu_input("tokens", np.ascontiguousarray(tokens, dtype=np.int64))
    binding.bind_cpu_input("self_k", np.ascontiguousarray(cache[0]))
    binding.bind_cpu_input("self_v", np.ascontiguousarray(cache[1]))
    binding.bind_ortvalue_input("cross_k", cross[0])
    binding.bind_ortvalue_input("cross_v", cross[1])
    for name in ("logits", "new_k", "new_v"):
        binding.bind_output(name, "cpu")
    dec.decoder.run_with_iobinding(binding, ro)
    logits, k, v = binding.copy_outputs_to_cpu()
    return logits[:, -1], (k, v)


def beam_window(dec: GreedyDecoder, cross: tuple[Any, Any], prompt: list[int], max_new: int, timestamps: bool,
                beam: int, ro: Any = None) -> WindowResult:
    """Decode one window keeping `beam` hypotheses; the no-speech probability is read as greedy reads it."""
    no_speech_prob, last, (k, v) = dec.read_prompt(prompt, cross, ro)
    logits = last[None]
    kv = (k.numpy(), v.numpy())
    max_new = min(max_new, MAX_NEW_TOKENS, dec.n_text_ctx - len(prompt))
    alive: list[tuple[list[int], float, list[float]]] = [([], 0.0, [])]  # tokens, total, each token's
    ended: list[tuple[list[int], float, list[float]]] = []
    eot = dec.tok.eot
    for step in range(max_new):
        rows = np.stack([_log_softmax(dec.allowed(logits[b], toks, step, timestamps))
                         for b, (toks, _, _) in enumerate(alive)])
        totals = rows + np.array([cum for _, cum, _ in alive], np.float32)[:, None]
        flat = totals.ravel()
        k_best = min(2 * beam, flat.size)
        top = np.argpartition(-flat, k_best - 1)[:k_best]
        top = top[np.argsort(-flat[top], kind="stable")]
        keep: list[tuple[int, int, float]] = []
        for rank, idx in enumerate(top):
            score = float(flat[idx])
            if not np.isfinite(score):
                break
            b, tok = divmod(int(idx), rows.shape[1])
            if tok == eot:
                if rank < beam:
                    ended.append((alive[b][0], score, alive[b][2]))
            elif len(keep) < beam:
                keep.append((b, tok, score))
        if len(ended) >= beam or not keep:
            break
        alive = [(alive[b][0] + [tok], score, alive[b][2] + [float(rows[b, tok])]) for b, tok, score in keep]
        if step + 1 == max_new:
            break
        order = np.array([b for b, _, _ in keep])
        tokens = np.array([[tok] for _, tok, _ in keep], np.int64)
        logits, kv = _step(dec, tokens, (kv[0][:, order], kv[1][:, order]), cross, ro)
    if not ended:  # the length cap came first: the live hypotheses end there
        ended = alive
    tokens, cum, logprobs = max(ended, key=lambda h: h[1] / max(1, len(h[0])))
    n = len(tokens)
    return WindowResult(tokens, no_speech_prob, cum, cum / (n + 1) if n else 0.0, logprobs)
