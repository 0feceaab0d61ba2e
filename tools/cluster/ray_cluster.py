"""The Ray cluster behind `--cluster ADDRESS`: joined (`auto`, a Ray address) or started here (`local:N`).

`local:N` starts N Ray nodes on this machine (ray.cluster_utils.Cluster: a head and N-1 more raylets), each with its
own `omnirt_session_slots` and a CPU limit, for trying the cluster out and for the tests; the cluster lives and dies
with this process. A joined cluster is left running: only this process's driver disconnects.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from .host import SLOTS


class ClusterError(Exception):
    """A one-line reason the cluster cannot be used (bad address, Ray missing, no node with session slots)."""


@dataclass(frozen=True)
class ClusterOptions:
    """address: `local:N`, `auto` or a Ray address (`ray://HOST:10001`, `HOST:6379`).
    slots_per_node / cpus_per_node / object_store_mb: each local node's session slots, CPUs and object store (the
        object store only carries signalling here, so it is kept at Ray's minimum-ish; media never touches Ray).
    gpus_per_node: each local node's GPUs (None: what Ray detects), so a replica asking for one is placed."""

    address: str
    slots_per_node: int = 4
    cpus_per_node: int = 1
    object_store_mb: int = 80
    gpus_per_node: float | None = None

    @property
    def local_nodes(self) -> int | None:
        """N for `local:N`, None for a cluster to join; ClusterError for a malformed `local:`."""
        if not self.address.startswith("local:"):
            return None
        text = self.address.split(":", 1)[1]
        if not text.isdigit() or not 1 <= int(text) <= 64:
            raise ClusterError(f"--cluster local:N needs N between 1 and 64, not {text!r}")
        return int(text)


def reachable(address: str, timeout_s: float = 3.0) -> None:
    """A `HOST:PORT` address must accept a connection: Ray itself retries an unreachable one without end, with a
    warning every few seconds. (`auto` and `ray://` are left to Ray, which fails fast on them.)"""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--cluster takes local:N, auto, ray://HOST:PORT or HOST:PORT, not {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout_s).close()
    except OSError as err:
        raise ClusterError(f"cannot reach the Ray cluster at {address} ({err.strerror or err})") from None


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterError("--cluster needs Ray: pip install 'omnirt[cluster]'") from None
    return ray


class RayCluster:
    """Connects this process to the cluster (starting it first for `local:N`); `close()` undoes what was done."""

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self.local: Any = None  # ray.cluster_utils.Cluster when started here
        if options.slots_per_node < 1:
            raise ClusterError("each node needs at least one session slot")
        options.local_nodes  # noqa: B018 - checks the address before anything starts

    def start(self) -> "RayCluster":
        ray = import_ray()
        n = self.options.local_nodes
        address = self.options.address
        try:
            if n is not None:
                from ray.cluster_utils import Cluster

                node = dict(num_cpus=self.options.cpus_per_node, resources={SLOTS: self.options.slots_per_node},
                            object_store_memory=self.options.object_store_mb * 1024 * 1024,
                            include_dashboard=False)
                if self.options.gpus_per_node is not None:
                    node["num_gpus"] = self.options.gpus_per_node
                self.local = Cluster(initialize_head=True, head_node_args=node)
                for _ in range(n - 1):
                    self.local.add_node(**{k: v for k, v in node.items() if k != "include_dashboard"})
                address = self.local.address
            else:
                reachable(address)
            ray.init(address=address, namespace="omnirt", logging_level=logging.WARNING, log_to_driver=True)
            if self.local is not None:
                self.local.wait_for_nodes()
        except ClusterError:
            self.close()
            raise
        except Exception as err:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError ...
            self.close()
            first = (str(err).strip().splitlines() or [type(err).__name__])[0].split(". ")[0][:200]
            raise ClusterError(f"cannot {'start' if n else 'join'} the Ray cluster {address!r}: {first}") from None
        return self

    def slot_nodes(self) -> list[tuple[str, int]]:
        """(node id, session slots) of every live node that declares session slots."""
        import ray

        return [(node["NodeID"], int(node["Resources"].get(SLOTS, 0))) for node in ray.nodes()
                if node.get("Alive") and node["Resources"].get(SLOTS, 0) >= 1]

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        if self.local is not None:
            self.local.shutdown()
            self.local = None
