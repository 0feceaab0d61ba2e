"""Several nodes: sessions spread over machines that share nothing but the front door.

A cluster's session host runs its sessions on its own node's cores; nodes share no CPU, so each node is simulated
as the single-machine model with its own sessions and its own pool of `cpu` servers, and the turns of every node are
pooled (a session is equally likely to be any of them). Where the sessions go is the caller's: the front door's
placement rule lives with the front door (tools/cluster/placement.py), and `omnirt simulate --nodes` applies it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .engine import Summary, simulate
from .model import PipelineModel


def simulate_nodes(model: PipelineModel, loads: list[int], turns: int = 1000, seed: int = 0,
                   starts: list[tuple[float, ...]] | None = None) -> Summary:
    """`loads[i]` sessions on node i, each node a copy of `model` (its `resources` per node); `turns` in all, shared
    by the nodes in proportion to their sessions. starts[i]: when node i's sessions ask their first question
    (User.starts_ms), else drawn. Utilisation is reported per node ("cpu@0", "cpu@1", ...)."""
    if not loads or min(loads) < 0 or sum(loads) < 1:
        raise ValueError(f"need at least one session on some node, got loads {loads}")
    if turns < sum(loads):
        raise ValueError(f"turns ({turns}) must be at least the number of sessions ({sum(loads)})")
    total = sum(loads)
    parts: list[Summary] = []
    utilisation: dict[str, float] = {}
    for i, n in enumerate(loads):
        if n == 0:
            continue
        node = replace(model, sessions=n)
        if starts is not None:
            node = replace(node, user=replace(model.user, starts_ms=tuple(starts[i])))
        part = simulate(node, turns=max(n, round(turns * n / total)), seed=seed + 7919 * i)
        parts.append(part)
        utilisation.update({f"{name}@{i}": u for name, u in part.utilisation.items()})
    first = np.cumsum([0] + [p.sessions for p in parts[:-1]])  # session numbers run on across the nodes
    for p, offset in zip(parts, first):
        p.records["session"] = p.records["session"] + offset
    records = {k: np.concatenate([p.records[k] for p in parts]) for k in parts[0].records}
    return Summary(records, utilisation, total, seed, max(p.duration_ms for p in parts), parts[0].stage_names)
