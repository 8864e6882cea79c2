"""Initialisers: shapes, dtypes, statistics against their formulas, reproducibility, build cost."""

import logging
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
from brainstate_nn import init


@pytest.mark.parametrize("initializer, std", [
    (init.KaimingNormal(), math.sqrt(2 / 400)),
    (init.KaimingUniform(), math.sqrt(2 / 400)),
    (init.XavierNormal(), math.sqrt(1 / 300)),
    (init.XavierUniform(), math.sqrt(1 / 300)),
    (init.LecunNormal(), math.sqrt(1 / 400)),
    (init.LecunUniform(), math.sqrt(1 / 400)),
    (init.VarianceScaling(3.0, "fan_out", "normal"), math.sqrt(3 / 200)),
    (init.Normal(1.0, 0.5), 0.5),
    (init.TruncatedNormal(scale=0.2, lower=-10, upper=10), 0.2),
    (init.Uniform(-1.0, 1.0), 1 / math.sqrt(3)),
])
def test_standard_deviation_matches_the_formula(initializer, std):
    w = np.asarray(initializer((400, 200)))
    assert w.shape == (400, 200) and w.dtype == np.float32
    assert abs(w.std() / std - 1) < 0.03


def test_fans_of_a_channels_last_kernel():
    w = init.VarianceScaling(1.0, "fan_in", "normal")((3, 3, 16, 32))
    assert abs(float(w.std()) / math.sqrt(1 / (9 * 16)) - 1) < 0.05


def test_truncated_normal_bounds_and_mean():
    w = np.asarray(init.TruncatedNormal(loc=1.0, scale=0.5, lower=-1.0, upper=1.0)((10000,)))
    assert w.min() >= 0.5 and w.max() <= 1.5 and abs(w.mean() - 1.0) < 0.02
    w = np.asarray(init.KaimingNormal()((100, 100)))
    assert np.abs(w).max() <= 2 * math.sqrt(2 / 100) / 0.87962566103423978 + 1e-6


@pytest.mark.parametrize("shape, axis", [((6, 4), -1), ((4, 6), -1), ((3, 5, 2), 0)])
def test_orthogonal(shape, axis):
    q = np.asarray(init.Orthogonal(scale=2.0, axis=axis)(shape))
    assert q.shape == shape
    m = np.moveaxis(q, axis, -1).reshape(-1, shape[axis]) / 2.0
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)
    with pytest.raises(bc.ConfigError, match=r"Orthogonal needs a shape of at least 2 dimensions"):
        init.Orthogonal()((3,))


def test_constants_dtype_and_environment_precision():
    assert init.Constant(2.0)((2, 2), dtype=jnp.int32).dtype == jnp.int32
    assert init.ZeroInit()(3).tolist() == [0.0, 0.0, 0.0]
    with bc.environ.context(precision=64):
        assert init.Normal()((2,)).dtype == jnp.float64
        assert nn.Linear(2, 2).weight.value["weight"].dtype == jnp.float64


def test_reproducible_with_seed_or_own_generator():
    R.seed(3)
    a = nn.Linear(4, 4).weight.value["weight"]
    R.seed(3)
    b = nn.Linear(4, 4).weight.value["weight"]
    np.testing.assert_array_equal(a, b)
    rng = R.RandomState(1)
    c = init.Normal(rng=rng)((3,))
    assert not np.array_equal(c, init.Normal(rng=rng)((3,)))
    np.testing.assert_array_equal(c, init.Normal(rng=R.RandomState(1))((3,)))


def test_param_helper():
    assert init.param(None, 3) is None
    assert init.param(init.ZeroInit(), (2, 3), batch_size=4).shape == (4, 2, 3)
    assert init.param(jnp.arange(3.0), 3, batch_size=2).tolist() == [[0, 1, 2], [0, 1, 2]]
    with pytest.raises(bc.ConfigError, match=r"An initialiser is required for a parameter of shape \(3,\)"):
        init.param(None, 3, allow_none=False)
    with pytest.raises(bc.ConfigError, match=r"shape \(2,\) cannot be broadcast to the parameter shape \(3,\)"):
        init.param(jnp.ones(2), 3)


@pytest.mark.parametrize("value", [1.5, np.float32(1.5), jnp.asarray(1.5), 2])
def test_param_allow_scalar_keeps_a_scalar_unbroadcast(value):
    assert init.param(value, (2, 3), allow_scalar=True) is value
    assert init.param(value, (2, 3)).shape == (2, 3)  # the default broadcasts
    assert init.param(jnp.ones(3), (2, 3), allow_scalar=True).shape == (2, 3)  # arrays still broadcast
    assert init.param(init.ZeroInit(), (2, 3), allow_scalar=True).shape == (2, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale=1.0, mode="fan"), r"mode must be one of"),
    (dict(scale=1.0, distribution="cauchy"), r"distribution must be one of"),
])
def test_variance_scaling_arguments(kwargs, match):
    with pytest.raises(bc.ConfigError, match=match):
        init.VarianceScaling(**kwargs)


def test_repr():
    assert repr(init.Normal(0.0, 2.0)) == "Normal(mean=0.0, scale=2.0)"
    assert repr(init.KaimingNormal()) == ("KaimingNormal(scale=2.0, mode='fan_in', distribution='truncated_normal', "
                                          "in_axis=-2, out_axis=-1)")


def _deep_mlp():
    return nn.Sequential(*[nn.Linear(64, 64) for _ in range(100)])


def _same_arrays_in_a_dict():
    std = math.sqrt(2.0 / 64) / 0.87962566103423978
    return {i: {"weight": R.truncated_normal(-2 * std, 2 * std, size=(64, 64), scale=std), "bias": jnp.zeros(64)}
            for i in range(100)}


@pytest.mark.skipif(bool(jax.config.values.get("jax_check_tracer_leaks")),
                    reason="JAX turns some of its compilation caches off while it checks for tracer leaks")
def test_building_a_deep_mlp_compiles_nothing_and_costs_what_its_arrays_cost(caplog):
    _deep_mlp(), _same_arrays_in_a_dict()  # warm the compilation caches once
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        _deep_mlp()
    assert not [r for r in caplog.records if "Compiling" in r.getMessage()]

    def best(fn):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    ratios = [best(_deep_mlp) / best(_same_arrays_in_a_dict) for _ in range(3)]
    assert min(ratios) <= 1.5, ratios
