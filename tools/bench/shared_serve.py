"""`omnirt bench shared --through-serve`: the shared ASR deployment as session hosts call it, N turns at once.

`omnirt bench shared` times the batched decode itself; this times what a session waits for: N callers (N sessions
whose users stopped speaking at the same moment) each send one utterance to the Ray Serve deployment through the
same handle a session host uses (tools/cluster/shared_models.py `RemoteRecognizer`), and each call's time from its
send to its transcript is the decode time after the end of speech that the session sees (queueing, batching and
the Serve hop included). Reported per N: p50 / p95 of the calls, the batch sizes the replica ran, whether each
utterance got the words it gets alone, and the provider the replica's Whisper runs on.

Why a command of its own: issue 16 asks for the ASR deployment on a GPU with 32 concurrent sessions' turns against
one session alone; on a machine with a GPU, `--gpus 1` gives the replica one (Ray then sets its
CUDA_VISIBLE_DEVICES, and onnxruntime takes CUDA when it really runs), so the measurement is one prepared command.
On a CPU machine it shows what the same queue costs there.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Any

import numpy as np


def concurrent_turns(recognizer: Any, clips: list[np.ndarray], sizes: list[int], repeats: int,
                     stats: Any = None) -> list[dict[str, Any]]:
    """For each N in `sizes`, `repeats` times: N threads released together, each transcribing clips[i] through
    `recognizer` (a RemoteRecognizer); per N the calls' times and what the replica batched (`stats()`: its
    {"batches": {size: count}}, read before and after)."""
    alone = {i: recognizer.transcribe(clips[i]).text for i in range(max(sizes))}
    rows = []
    for n in sizes:
        times: list[float] = []
        same = 0
        before = dict(stats()["batches"]) if stats else {}
        for _ in range(repeats):
            start = threading.Barrier(n)
            got: list[tuple[int, float, str]] = []
            lock = threading.Lock()

            def one(i: int) -> None:
                start.wait()
                t = time.perf_counter()
                text = recognizer.transcribe(clips[i]).text
                with lock:
                    got.append((i, time.perf_counter() - t, text))

            threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            times += [s * 1e3 for _, s, _ in got]
            same += sum(text == alone[i] for i, _, text in got)
        after = dict(stats()["batches"]) if stats else {}
        ran = {int(k): v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
        rows.append({"sessions": n, "calls": len(times), "p50_ms": round(statistics.median(times), 1),
                     "p95_ms": round(float(np.percentile(times, 95)), 1), "max_ms": round(max(times), 1),
                     "same_words": f"{same}/{len(times)}", "batches_run": dict(sorted(ran.items()))})
    return rows


def run(args: Any, sizes: list[int], console: Any) -> dict[str, Any]:
    """Start a one-node local cluster with the shared ASR deployment (its batch as large as the largest N), time
    the turns, shut it down; the JSON's body."""
    from ..cluster import shared_models
    from ..cluster.ray_cluster import ClusterOptions, RayCluster
    from ..clips import SENTENCES, make_clips, read_audio
    from ..voice import VoiceConfig

    need = max(sizes)
    clips = [read_audio(c.path) for c in make_clips(SENTENCES[: (need + 1) // 2], ("piper", "espeak"))][:need]
    actor = {"num_cpus": 0, **({"num_gpus": args.gpus} if args.gpus else {})}
    options = shared_models.SharedOptions(roles=("asr",), max_batch_size=need, batch_wait_s=args.wait_ms / 1000,
                                          actor_options=actor)
    cluster = RayCluster(ClusterOptions("local:1", cpus_per_node=max(2, os.cpu_count() or 2),
                                        gpus_per_node=args.gpus or None)).start()
    try:
        shared_models.deploy(VoiceConfig(), options)
        from ray import serve

        handle = serve.get_app_handle(shared_models.APPS["asr"])
        stats = lambda: handle.stats.remote().result(timeout_s=60)  # noqa: E731
        recognizer = shared_models.RemoteRecognizer()
        provider = stats().get("provider", "?")
        console.print(f"shared ASR deployment up: Whisper on {provider}, batches of up to {need}, "
                      f"{args.wait_ms} ms batch wait, replica options {actor}")
        rows = concurrent_turns(recognizer, clips, sizes, args.repeats, stats)
    finally:
        shared_models.shutdown()
        cluster.close()
    for r in rows:
        console.print(f"{r['sessions']:>3} sessions' turns at once: decode after the end of speech p50 {r['p50_ms']} "
                      f"ms, p95 {r['p95_ms']} ms (max {r['max_ms']}); same words as alone {r['same_words']}; "
                      f"batches run {r['batches_run']}", highlight=False, soft_wrap=True)
    return {"mode": "through-serve", "provider": provider, "replica_options": actor, "rows": rows}
