"""Shared models (issue 16 §2, §3): Whisper batched across utterances gives each what it gives alone; the shared ASR
and Talker deployments on a real Ray Serve batch concurrent callers, and a call whose replica is killed is made
again and answered by the replica Serve starts in its place.

The batch's equality is checked on the fp32 export (int8 quantizes a batch's activations with one range: see
models/whisper/batch.py). The Ray part runs on a one-node local cluster (ray.cluster_utils.Cluster via RayCluster),
Serve without its HTTP proxy, real models. That batching cuts the total time is measured, not asserted here:
`omnirt bench shared` (docs/cluster.md).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from omnirt.models.whisper import WhisperOnnx, WhisperOptions
from omnirt.models.whisper.batch import transcribe_batch
from omnirt.tools.clips import SENTENCES, make_clips, read_audio

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    return [read_audio(c.path) for c in make_clips(SENTENCES[:3], ("piper", "espeak"))]


def test_a_batch_gives_each_utterance_what_it_gets_alone(clips):
    asr = WhisperOnnx.load(WhisperOptions(precision="fp32", intra_threads=2))
    long = np.concatenate([clips[0], np.zeros(16000, np.float32), clips[1]])  # a longer window: a group of its own
    inputs = clips + [long, np.zeros(8000, np.float32), np.zeros(4, np.int16)]  # silence; not float audio
    drafts = [False] * len(inputs)
    drafts[1] = True
    contexts = [""] * len(inputs)  # rows with other contexts share the encoder call, not the decoding loop
    contexts[2] = contexts[4] = "What is the capital of France? The capital of France is Paris."
    contexts[3] = "How many legs does a cat have? A cat has four legs."
    got = transcribe_batch(asr, inputs, drafts, contexts)
    for audio, draft, context, result in zip(inputs[:-1], drafts, contexts, got):
        alone = asr.transcribe(audio, draft=draft, context=context)
        assert result.text == alone.text
        assert result.end_logprob == pytest.approx(alone.end_logprob, abs=1e-4)
        assert result.avg_logprob == pytest.approx(alone.avg_logprob, abs=1e-4)
        assert result.doubted == alone.doubted
    assert all(r.text for r in got[:len(clips) + 1]) and got[-2].text == ""
    assert isinstance(got[-1], ValueError) and "float" in str(got[-1])


@pytest.mark.parametrize("flags, says", [
    (["--shared", "asr"], "--shared goes with --cluster (shared models are Ray Serve deployments)"),
    (["--cluster", "local:1", "--shared", "asr,thinker"],
     "--shared takes a comma-separated list of asr, talker, not 'asr,thinker'"),
    (["--cluster", "local:1", "--shared", "asr", "--shared-max-batch", "0"],
     "shared models need --shared-max-batch >= 1, --shared-batch-wait-ms from 0 to 1000 and at least one replica"),
])
def test_bad_shared_flags_are_one_line_before_anything_starts(flags, says):
    r = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "serve", "--port", "0", *flags],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr.strip()) == (2, f"omnirt: error: {says}")


@pytest.fixture(scope="module")
def serve_cluster():
    pytest.importorskip("ray.serve", reason="needs the cluster extra: pip install 'omnirt[cluster]'")
    from omnirt.tools.cluster import shared_models
    from omnirt.tools.cluster.ray_cluster import ClusterOptions, RayCluster
    from omnirt.tools.voice import VoiceConfig

    cluster = RayCluster(ClusterOptions("local:1", cpus_per_node=2, object_store_mb=200)).start()
    try:
        options = shared_models.SharedOptions(max_batch_size=4, batch_wait_s=0.3)
        yield shared_models.deploy(VoiceConfig(), options)
    finally:
        shared_models.shutdown()
        cluster.close()


def replica_stats(role: str) -> dict:
    from ray import serve

    from omnirt.tools.cluster.shared_models import APPS

    return serve.get_app_handle(APPS[role]).stats.remote().result(timeout_s=30)


def test_shared_deployments_batch_concurrent_callers(serve_cluster, clips):
    recognizer, synthesizer = (serve_cluster.overrides()[k] for k in ("recognizer", "synthesizer"))
    piper = clips[:3]  # (int8: the piper clips' words do not depend on the batch they are in)
    local = WhisperOnnx.load(WhisperOptions())
    with ThreadPoolExecutor(len(piper)) as pool:
        heard = list(pool.map(recognizer.transcribe, piper))
    assert [r.text for r in heard] == [local.transcribe(a).text for a in piper]
    assert max(replica_stats("asr")["batches"]) > 1  # the three calls were (at least partly) one batch
    with ThreadPoolExecutor(2) as pool:
        spoken = list(pool.map(lambda t: list(synthesizer.stream(t)), ["Hello there.", "It is warm today."]))
    assert synthesizer.sample_rate == 22050 and all(chunks and chunks[0].dtype == np.int16 for chunks in spoken)
    assert list(synthesizer.stream("  ")) == []


def test_the_bench_times_turns_sent_at_once_through_the_deployment(serve_cluster, clips):
    """tools/bench/shared_serve.py (`omnirt bench shared --through-serve`, issue 16's GPU measurement): N callers
    released together are timed one by one, batched by the replica, and each gets the words it gets alone."""
    from omnirt.tools.bench.shared_serve import concurrent_turns

    recognizer = serve_cluster.overrides()["recognizer"]
    rows = concurrent_turns(recognizer, clips[:3], [1, 3], 1, lambda: replica_stats("asr"))
    assert [(r["sessions"], r["calls"], r["same_words"]) for r in rows] == [(1, 1, "1/1"), (3, 3, "3/3")]
    assert rows[0]["batches_run"] == {1: 1} and max(rows[1]["batches_run"]) > 1
    assert 0 < rows[0]["p50_ms"] <= rows[0]["max_ms"] and rows[1]["p50_ms"] <= rows[1]["p95_ms"] <= rows[1]["max_ms"]
    assert replica_stats("asr")["provider"] in ("cpu", "cuda")


def test_a_call_whose_replica_is_killed_is_answered_by_its_successor(serve_cluster, clips):
    import ray

    from omnirt.tools.cluster.shared_models import APPS

    recognizer = serve_cluster.overrides()["recognizer"]
    before = replica_stats("asr")["pid"]
    replica = next(a for a in ray.util.list_named_actors(all_namespaces=True)
                   if "SERVE_REPLICA" in a["name"] and APPS["asr"] in a["name"])
    long = np.concatenate([clips[0]] * 8)  # ~25 s of speech: several seconds of decoding, in flight at the kill
    result: dict = {}
    call = threading.Thread(target=lambda: result.update(r=recognizer.transcribe(long)))
    call.start()
    threading.Event().wait(1.0)
    ray.kill(ray.get_actor(replica["name"], namespace=replica["namespace"]), no_restart=True)
    call.join(120)
    assert "r" in result and "park" in result["r"].text.lower()
    assert recognizer.retries >= 1 and replica_stats("asr")["pid"] != before
