"""Distributions of the simulator: sampling, parameterisation from reported percentiles, and fitting."""

import math

import numpy as np
import pytest

from omnirt.runtime.simulator.distributions import (Empirical, Exponential, Fixed, LogNormal, Normal, fit,
                                                     from_spec)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_lognormal_from_median_and_p95_reproduces_them():
    d = LogNormal.from_median_p95(108.0, 141.0)
    x = d.sample(rng(), 200_000)
    assert np.median(x) == pytest.approx(108.0, rel=0.01)
    assert np.percentile(x, 95) == pytest.approx(141.0, rel=0.01)
    assert isinstance(d.sample(rng()), float)


def test_normal_is_truncated_at_zero_and_fixed_is_constant():
    x = Normal(1.0, 5.0).sample(rng(), 50_000)
    assert x.min() >= 0 and len(x) == 50_000
    assert np.all(Fixed(7.0).sample(rng(), 5) == 7.0)
    assert Exponential(10.0).sample(rng(), 100_000).mean() == pytest.approx(10.0, rel=0.02)


def test_empirical_resamples_only_its_samples():
    e = Empirical((1.0, 5.0, 9.0))
    x = e.sample(rng(), 3000)
    assert set(np.unique(x)) == {1.0, 5.0, 9.0}
    with pytest.raises(ValueError):
        Empirical(())


def test_fit_recovers_lognormal_parameters():
    true = LogNormal(math.log(120.0), 0.25)
    got = fit(true.sample(rng(1), 3000))
    assert isinstance(got, LogNormal)
    assert got.mu == pytest.approx(true.mu, rel=0.01)
    assert got.sigma == pytest.approx(true.sigma, rel=0.05)


def test_fit_recovers_normal_parameters():
    got = fit(Normal(400.0, 10.0).sample(rng(2), 5000))
    assert isinstance(got, Normal)
    assert got.mean == pytest.approx(400.0, rel=0.01)
    assert got.sd == pytest.approx(10.0, rel=0.05)


def test_fit_falls_back_to_empirical_for_a_bimodal_trace():
    r = rng(3)
    x = np.concatenate([r.normal(100, 5, 1000), r.normal(300, 5, 1000)])
    got = fit(x)
    assert isinstance(got, Empirical)
    assert len(got.samples) == 2000


def test_from_spec_builds_each_kind_and_rejects_nonsense():
    assert from_spec(5) == Fixed(5.0)
    assert from_spec({"kind": "lognormal", "median": 100, "p95": 150}).median == pytest.approx(100.0)
    assert from_spec({"kind": "normal", "mean": 3, "sd": 1}) == Normal(3, 1)
    assert from_spec({"kind": "empirical", "samples": [1, 2]}).samples == (1.0, 2.0)
    for bad in ({"kind": "gamma"}, {"median": 3}, "fast", {"kind": "normal", "mean": 1}):
        with pytest.raises(ValueError):
            from_spec(bad)
