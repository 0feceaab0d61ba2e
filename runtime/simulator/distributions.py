"""Latency distributions for the simulator, all in milliseconds, sampled with a numpy Generator.

Each distribution is a small frozen dataclass with `.sample(rng, n=None)` (a float, or an array of n floats) so the
engine can draw every random number for a run up front, vectorised, and stay deterministic for a seed. `fit()` picks
a distribution for measured samples (calibration from traces): lognormal or normal when one describes the data (a
Kolmogorov-Smirnov test at 5 %), else the samples themselves (bootstrap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

Z95 = 1.6448536269514722  # standard normal quantile at 0.95


class Dist(Protocol):
    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any: ...

    def as_dict(self) -> dict[str, Any]: ...


def _out(x: np.ndarray, n: int | None) -> Any:
    return float(x[0]) if n is None else x


@dataclass(frozen=True)
class Fixed:
    """A constant: deterministic service times (the D in M/D/1)."""

    value: float

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        return float(self.value) if n is None else np.full(n, float(self.value))

    @property
    def median(self) -> float:
        return float(self.value)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "fixed", "value": self.value}


@dataclass(frozen=True)
class Normal:
    """Normal truncated at 0 (negative draws are redrawn), because a latency cannot be negative."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if self.sd < 0 or (self.mean <= 0 and self.sd == 0):
            raise ValueError(f"Normal needs sd >= 0 and a positive mean or sd, got mean={self.mean} sd={self.sd}")
        if self.mean < -3 * self.sd:
            raise ValueError(f"Normal(mean={self.mean}, sd={self.sd}) is almost entirely below 0")

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        m = 1 if n is None else n
        x = rng.normal(self.mean, self.sd, m)
        bad = x < 0
        while bad.any():
            x[bad] = rng.normal(self.mean, self.sd, int(bad.sum()))
            bad = x < 0
        return _out(x, n)

    @property
    def median(self) -> float:
        return float(self.mean)  # exact when truncation is negligible

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "normal", "mean": self.mean, "sd": self.sd}


@dataclass(frozen=True)
class LogNormal:
    """exp(N(mu, sigma)): the usual shape of service times (a floor, a long right tail)."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if self.sigma < 0:
            raise ValueError(f"LogNormal sigma must be >= 0, got {self.sigma}")

    @classmethod
    def from_median_p95(cls, median: float, p95: float) -> "LogNormal":
        """The lognormal with this median and 95th percentile (how stage timings are reported)."""
        if not 0 < median <= p95:
            raise ValueError(f"LogNormal needs 0 < median <= p95, got median={median} p95={p95}")
        return cls(math.log(median), math.log(p95 / median) / Z95)

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        return _out(rng.lognormal(self.mu, self.sigma, 1 if n is None else n), n)

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    @property
    def p95(self) -> float:
        return math.exp(self.mu + Z95 * self.sigma)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "lognormal", "mu": self.mu, "sigma": self.sigma}


@dataclass(frozen=True)
class Exponential:
    """Memoryless times (Poisson arrivals, the M in M/M/1)."""

    mean: float

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        return _out(rng.exponential(self.mean, 1 if n is None else n), n)

    @property
    def median(self) -> float:
        return self.mean * math.log(2)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "exponential", "mean": self.mean}


@dataclass(frozen=True)
class Uniform:
    """Uniform on [low, high]."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        return _out(rng.uniform(self.low, self.high, 1 if n is None else n), n)

    @property
    def median(self) -> float:
        return (self.low + self.high) / 2

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "uniform", "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Empirical:
    """Measured samples, resampled with replacement (bootstrap): no shape assumed."""

    samples: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", tuple(float(x) for x in self.samples))
        if not self.samples or any(x < 0 or not math.isfinite(x) for x in self.samples):
            raise ValueError("Empirical needs at least one finite, non-negative sample")

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        arr = np.asarray(self.samples)
        return _out(arr[rng.integers(0, len(arr), 1 if n is None else n)], n)

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "empirical", "samples": list(self.samples)}


_KINDS = {"fixed": Fixed, "normal": Normal, "lognormal": LogNormal, "exponential": Exponential,
          "uniform": Uniform, "empirical": Empirical}


def from_spec(spec: Any) -> Dist:
    """A distribution from a number (fixed) or a dict such as {kind="lognormal", median=108, p95=141}."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return Fixed(float(spec))
    if hasattr(spec, "sample"):
        return spec
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ValueError(f"a distribution is a number or a table with 'kind', got {spec!r}")
    args = {k: v for k, v in spec.items() if k != "kind"}
    kind = str(spec["kind"]).lower()
    if kind not in _KINDS:
        raise ValueError(f"unknown distribution kind {spec['kind']!r} (one of {', '.join(_KINDS)})")
    try:
        if kind == "lognormal" and "median" in args:
            return LogNormal.from_median_p95(float(args.pop("median")), float(args.pop("p95")), **args)
        if kind == "empirical":
            return Empirical(tuple(args["samples"]))
        return _KINDS[kind](**args)
    except (TypeError, KeyError) as e:
        raise ValueError(f"bad {kind} distribution {spec!r}: {e}") from None


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _ks(sorted_x: np.ndarray, cdf: np.ndarray) -> float:
    n = len(sorted_x)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))


def fit(samples: Sequence[float], alpha_coef: float = 1.36) -> Dist:
    """The best description of measured latencies: the likelier of lognormal and normal (maximum likelihood, both
    have two parameters) if it passes a Kolmogorov-Smirnov test (D < 1.36/sqrt(n), 5 %), else Empirical."""
    x = np.sort(np.asarray(samples, dtype=float))
    if len(x) == 0 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("fit needs finite, non-negative samples")
    if len(x) < 3 or np.ptp(x) == 0:
        return Empirical(tuple(x))
    candidates: list[tuple[float, Dist, np.ndarray]] = []
    m, s = float(x.mean()), float(x.std(ddof=0))
    ll_norm = -len(x) * (math.log(s * math.sqrt(2 * math.pi)) + 0.5)
    candidates.append((ll_norm, Normal(m, s), _norm_cdf((x - m) / s)))
    if x[0] > 0:
        lx = np.log(x)
        mu, sg = float(lx.mean()), float(lx.std(ddof=0))
        if sg > 0:
            ll_log = -len(x) * (math.log(sg * math.sqrt(2 * math.pi)) + 0.5) - float(lx.sum())
            candidates.append((ll_log, LogNormal(mu, sg), _norm_cdf((lx - mu) / sg)))
    ll, best, cdf = max(candidates, key=lambda c: c[0])
    if _ks(x, cdf) < alpha_coef / math.sqrt(len(x)):
        return best
    return Empirical(tuple(x))
