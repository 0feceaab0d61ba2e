"""Shared models: the ASR and the Talker as Ray Serve deployments that every session host calls, batched across
sessions (`omnirt serve --cluster ADDRESS --shared asr,talker`).

Why: a session host loads every model once per node and runs its sessions' model calls one by one. A shared
deployment holds one copy of a model for the whole cluster (on a GPU node, say) and gathers the calls of many
sessions into batches (`@serve.batch`: up to max_batch_size calls, waiting at most batch_wait_s for more).
- ASR: a batch is one Whisper decode (models/whisper/batch.py: one encoder call per window length, one greedy
  decoding loop over the rows); each caller gets what a call of its own would give (fp32 exactly; int8 to its
  dynamic quantization, see batch.py).
- Talker: Piper's VITS graph takes a batch, but it returns one padded audio tensor without each row's length (its
  durations are sampled inside the graph), so a row's audio cannot be cut out of it. A batch's clauses are
  synthesized concurrently in the replica instead (onnxruntime runs calls in parallel), which buys one queue per
  replica and no model copy per host, not fewer model calls.

The session host keeps the Recognizer and Synthesizer protocols (runtime/asr.py, runtime/talker.py): it gets
`RemoteRecognizer` / `RemoteSynthesizer`, which call the deployments through Serve handles from the stages' worker
threads. A call that fails because its replica died (Ray Serve restarts it) is made again until retry_for_s has
passed, so a session hears nothing of it but the wait; a cancelled partial transcript cancels its request.

The deployments run on the cluster without Serve's HTTP proxy (handles only) and use no CPU reservation: on a
GPU node give them `ray_actor_options` through `SharedOptions.actor_options`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..voice import VoiceConfig

log = logging.getLogger("omnirt.cluster.shared")

ROLES = ("asr", "talker")
APPS = {"asr": "omnirt-asr", "talker": "omnirt-talker"}  # one Serve application per shared role


def options_from(args: Any) -> "SharedOptions | None":
    """The SharedOptions of `omnirt serve`'s --shared flags (None without --shared); ValueError with one line."""
    if not getattr(args, "shared", None):
        return None
    return SharedOptions(parse_roles(args.shared), max_batch_size=args.shared_max_batch,
                         batch_wait_s=args.shared_batch_wait_ms / 1000)


def parse_roles(text: str) -> tuple[str, ...]:
    """--shared's value ("asr,talker") as roles; ValueError with one line for anything else."""
    roles = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise ValueError(f"--shared takes a comma-separated list of {', '.join(ROLES)}, not {text!r}")
    return roles


@dataclass(frozen=True)
class SharedOptions:
    """roles: the models served by shared deployments (the others load in each session host).
    max_batch_size / batch_wait_s: a batch runs once it holds max_batch_size calls or its first call has waited
        batch_wait_s (the wait is added to a lone call's latency: keep it to milliseconds).
    replicas: copies of each deployment (Serve spreads the calls over them).
    retry_for_s: how long a call whose replica died is tried again (a restarted replica loads its model first).
    actor_options: Ray options of each replica (e.g. {"num_gpus": 1}); no CPU is reserved by default."""

    roles: tuple[str, ...] = ROLES
    max_batch_size: int = 8
    batch_wait_s: float = 0.01
    replicas: int = 1
    retry_for_s: float = 60.0
    actor_options: dict = field(default_factory=lambda: {"num_cpus": 0})

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or not 0 <= self.batch_wait_s <= 1 or self.replicas < 1:
            raise ValueError("shared models need --shared-max-batch >= 1, --shared-batch-wait-ms from 0 to 1000 "
                             "and at least one replica")


@dataclass(frozen=True)
class SharedModels:
    """What a session host needs to call the deployments (HostConfig.shared): the roles, the Talker's sample rate
    (read once from its replica: the Talker stage asks for it on its event loop) and the retry window."""

    roles: tuple[str, ...]
    sample_rate: int = 0
    retry_for_s: float = 60.0

    def overrides(self) -> dict[str, Any]:
        """load_components' keyword arguments for the shared roles (their models are not loaded in the host)."""
        out: dict[str, Any] = {}
        if "asr" in self.roles:
            out["recognizer"] = RemoteRecognizer(self.retry_for_s)
        if "talker" in self.roles:
            out["synthesizer"] = RemoteSynthesizer(self.sample_rate, self.retry_for_s)
        return out


# ---------------------------------------------------------------- the replicas


class _Batched:
    """A replica's batching: `serve.batch` around its `run_batch`, with this deployment's options; counts the
    batch sizes it ran (`stats`), which is how the tests and benchmark see that calls were batched."""

    def __init__(self, options: SharedOptions) -> None:
        from ray import serve

        self.sizes: Counter = Counter()
        self.batched = serve.batch(max_batch_size=options.max_batch_size,
                                   batch_wait_timeout_s=options.batch_wait_s)(self._run)

    async def _run(self, *columns: list) -> list:
        self.sizes[len(columns[0])] += 1
        return await self.run_batch(*columns)

    async def run_batch(self, *columns: list) -> list:
        raise NotImplementedError

    async def call(self, *args: Any) -> Any:
        result = await self.batched(*args)
        if isinstance(result, Exception):  # (only this caller's input failed)
            raise result
        return result

    async def stats(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "batches": dict(self.sizes)}


class SharedASR(_Batched):
    """Whisper (as the session hosts would load it) behind `transcribe(audio, draft, context)`, batched across
    callers."""

    def __init__(self, voice: VoiceConfig, options: SharedOptions) -> None:
        from ...models import registry

        super().__init__(options)
        self.asr = registry.load_asr(beam_size=voice.asr_beam, doubt_beam=voice.asr_doubt_beam)

    async def run_batch(self, audios: list, drafts: list, contexts: list) -> list:
        from ...models.whisper.batch import transcribe_batch

        return await asyncio.to_thread(transcribe_batch, self.asr, audios, drafts, contexts)

    async def transcribe(self, audio: np.ndarray, draft: bool = False, context: str = "") -> Any:
        return await self.call(audio, draft, context)

    async def stats(self) -> dict[str, Any]:
        return {**await super().stats(), "provider": getattr(self.asr, "provider", "cpu")}  # where Whisper runs


class SharedTalker(_Batched):
    """The Talker behind `synthesize(text)` (all of one clause's chunks); a batch's clauses run concurrently."""

    def __init__(self, voice: VoiceConfig, options: SharedOptions) -> None:
        from ...models import registry

        super().__init__(options)
        self.synth = registry.load_talker(voice.talker)

    def _one(self, text: str) -> list[np.ndarray] | Exception:
        try:
            return list(self.synth.stream(text))
        except Exception as err:  # noqa: BLE001 - handed to that caller
            return err

    async def run_batch(self, texts: list) -> list:
        return list(await asyncio.gather(*(asyncio.to_thread(self._one, t) for t in texts)))

    async def synthesize(self, text: str) -> list[np.ndarray]:
        return await self.call(text)

    async def sample_rate(self) -> int:
        return int(self.synth.sample_rate)


REPLICAS = {"asr": SharedASR, "talker": SharedTalker}


def deploy(voice: VoiceConfig, options: SharedOptions) -> SharedModels:
    """Start Ray Serve on the connected cluster (no HTTP proxy) and a deployment per shared role; waits until each
    replica has loaded its model. Call after ray.init."""
    from ray import serve

    from .ray_cluster import ClusterError

    sample_rate = 0
    quiet = {"log_level": "WARNING", "enable_access_log": False}  # (Serve logs every call at INFO)
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    try:
        serve.start(proxy_location="Disabled", logging_config=quiet)
        for role in options.roles:
            deployment = serve.deployment(REPLICAS[role], name=APPS[role], num_replicas=options.replicas,
                                          max_ongoing_requests=4 * options.max_batch_size,
                                          ray_actor_options=dict(options.actor_options), logging_config=quiet)
            handle = serve.run(deployment.bind(voice, options), name=APPS[role], route_prefix=None,
                               logging_config=quiet)
            if role == "talker":
                sample_rate = handle.sample_rate.remote().result(timeout_s=120)
    except Exception as err:  # noqa: BLE001 - a model missing on the replica's node, Serve failing to start ...
        first = (str(err).strip().splitlines() or [type(err).__name__])[-1][:200]
        raise ClusterError(f"the shared models did not start: {first}") from None
    return SharedModels(options.roles, sample_rate, options.retry_for_s)


def shutdown() -> None:
    """Remove the deployments and Serve's controller (the front door is stopping)."""
    from ray import serve

    serve.shutdown()


# ---------------------------------------------------------------- the callers, in the session hosts


class _Remote:
    """Calls one deployment's method from a worker thread, again while its replica is down (see the module doc)."""

    def __init__(self, role: str, retry_for_s: float) -> None:
        self.role, self.retry_for_s = role, retry_for_s
        self._handle: Any = None
        self._lock = threading.Lock()
        self.retries = 0

    def handle(self) -> Any:
        with self._lock:
            if self._handle is None:
                from ray import serve

                logging.getLogger("ray.serve").setLevel(logging.WARNING)  # (its router's start is logged at INFO)
                self._handle = serve.get_app_handle(APPS[self.role])
            return self._handle

    def call(self, method: str, *args: Any, cancel: Any = None) -> Any:
        from ray.exceptions import RayActorError
        from ray.serve.exceptions import RequestCancelledError

        from ...runtime.threads import Cancelled

        deadline = time.monotonic() + self.retry_for_s
        while True:
            response = getattr(self.handle(), method).remote(*args)
            if cancel is not None:
                cancel.attach(response.cancel)
            try:
                return response.result()
            except RequestCancelledError:
                raise Cancelled(f"shared {self.role} call cancelled") from None
            except RayActorError as err:  # its replica died (killed, or its node lost): Serve starts another
                if time.monotonic() > deadline:
                    raise
                self.retries += 1
                log.warning("shared %s: replica lost (%s); calling again", self.role, type(err).__name__)
                time.sleep(0.2)


class RemoteRecognizer(_Remote):
    """runtime.asr.Recognizer over the shared ASR deployment."""

    def __init__(self, retry_for_s: float = 60.0) -> None:
        super().__init__("asr", retry_for_s)

    def transcribe(self, audio: np.ndarray, cancel: Any = None, draft: bool = False, context: str = "") -> Any:
        return self.call("transcribe", np.ascontiguousarray(audio, np.float32), draft, context, cancel=cancel)


class RemoteSynthesizer(_Remote):
    """runtime.talker.Synthesizer over the shared Talker deployment: a clause's chunks once it is made."""

    def __init__(self, sample_rate: int, retry_for_s: float = 60.0) -> None:
        super().__init__("talker", retry_for_s)
        self.sample_rate = sample_rate

    def stream(self, text: str) -> Iterator[np.ndarray]:
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return iter(self.call("synthesize", text) if text.strip() else [])
