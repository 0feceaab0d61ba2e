"""omnirt.runtime.simulator: a discrete-event latency simulator for budgeting the voice pipeline before building it.

    from omnirt.runtime.simulator import default_embedded, simulate, load_budget, check
    summary = simulate(default_embedded(), turns=10_000, seed=0)
    violations = check(load_budget("budget.toml"), summary.as_dict())
"""

from .budget import Violation, check, from_bench_reply, load_budget
from .distributions import Empirical, Exponential, Fixed, LogNormal, Normal, Uniform, fit, from_spec
from .engine import Summary, simulate
from .model import Chunking, Network, PipelineModel, StageModel, User, Vad, default_embedded, load_model
from .nodes import simulate_nodes
from .queueing import md1_wait, mm1_wait, mmc_wait, simulate_queue

__all__ = ["Chunking", "Empirical", "Exponential", "Fixed", "LogNormal", "Network", "Normal", "PipelineModel",
           "StageModel", "Summary", "Uniform", "User", "Vad", "Violation", "check", "default_embedded", "fit",
           "from_bench_reply", "from_spec", "load_budget", "load_model", "md1_wait", "mm1_wait", "mmc_wait",
           "simulate", "simulate_nodes", "simulate_queue"]
