"""Continuous samplers: Kolmogorov-Smirnov tests against SciPy, shapes, dtypes and bad parameters."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_random as random
from brainstate_random import RandomParameterError, RandomState

stats = pytest.importorskip("scipy.stats")

N = 2000


def _wrap(x, mu):
    return np.mod(np.asarray(x) - mu + np.pi, 2 * np.pi) - np.pi


# (id, draw(rng, key) -> samples, transform of the samples, SciPy distribution)
CASES = [
    ("rand", lambda r, k: r.rand(N, key=k), None, stats.uniform()),
    ("randn", lambda r, k: r.randn(N, key=k), None, stats.norm()),
    ("random", lambda r, k: r.random(N, key=k), None, stats.uniform()),
    ("random_sample", lambda r, k: r.random_sample(N, key=k), None, stats.uniform()),
    ("ranf", lambda r, k: r.ranf(N, key=k), None, stats.uniform()),
    ("sample", lambda r, k: r.sample(N, key=k), None, stats.uniform()),
    ("uniform", lambda r, k: r.uniform(2.0, 5.0, size=N, key=k), None, stats.uniform(2.0, 3.0)),
    ("normal", lambda r, k: r.normal(1.5, 2.0, size=N, key=k), None, stats.norm(1.5, 2.0)),
    ("standard_normal", lambda r, k: r.standard_normal(N, key=k), None, stats.norm()),
    ("truncated_normal", lambda r, k: r.truncated_normal(-1.0, 2.0, size=N, loc=0.5, scale=1.5, key=k), None,
     stats.truncnorm(-1.0, 1.0, loc=0.5, scale=1.5)),
    ("truncated_normal_tail", lambda r, k: r.truncated_normal(3.0, 3.5, size=N, key=k), None, stats.truncnorm(3.0, 3.5)),
    ("exponential", lambda r, k: r.exponential(2.0, size=N, key=k), None, stats.expon(scale=2.0)),
    ("standard_exponential", lambda r, k: r.standard_exponential(N, key=k), None, stats.expon()),
    ("gamma", lambda r, k: r.gamma(2.5, 1.5, size=N, key=k), None, stats.gamma(2.5, scale=1.5)),
    ("standard_gamma", lambda r, k: r.standard_gamma(0.7, size=N, key=k), None, stats.gamma(0.7)),
    ("beta", lambda r, k: r.beta(2.0, 5.0, size=N, key=k), None, stats.beta(2.0, 5.0)),
    ("chisquare", lambda r, k: r.chisquare(3.0, size=N, key=k), None, stats.chi2(3.0)),
    ("noncentral_chisquare", lambda r, k: r.noncentral_chisquare(3.0, 2.0, size=N, key=k), None, stats.ncx2(3.0, 2.0)),
    ("f", lambda r, k: r.f(5.0, 10.0, size=N, key=k), None, stats.f(5.0, 10.0)),
    ("noncentral_f", lambda r, k: r.noncentral_f(3.0, 20.0, 3.0, size=N, key=k), None, stats.ncf(3.0, 20.0, 3.0)),
    ("standard_t", lambda r, k: r.standard_t(4.0, size=N, key=k), None, stats.t(4.0)),
    ("t", lambda r, k: r.t(4.0, size=N, key=k), None, stats.t(4.0)),
    ("standard_cauchy", lambda r, k: r.standard_cauchy(N, key=k), None, stats.cauchy()),
    ("cauchy", lambda r, k: r.cauchy(1.0, 2.0, size=N, key=k), None, stats.cauchy(1.0, 2.0)),
    ("laplace", lambda r, k: r.laplace(1.0, 2.0, size=N, key=k), None, stats.laplace(1.0, 2.0)),
    ("logistic", lambda r, k: r.logistic(1.0, 2.0, size=N, key=k), None, stats.logistic(1.0, 2.0)),
    ("gumbel", lambda r, k: r.gumbel(1.0, 2.0, size=N, key=k), None, stats.gumbel_r(1.0, 2.0)),
    ("lognormal", lambda r, k: r.lognormal(0.5, 0.8, size=N, key=k), None, stats.lognorm(0.8, scale=math.exp(0.5))),
    ("loggamma", lambda r, k: r.loggamma(2.0, size=N, key=k), None, stats.loggamma(2.0)),
    ("pareto", lambda r, k: r.pareto(3.0, size=N, key=k), None, stats.lomax(3.0)),
    ("power", lambda r, k: r.power(3.0, size=N, key=k), None, stats.powerlaw(3.0)),
    ("weibull", lambda r, k: r.weibull(1.5, size=N, key=k), None, stats.weibull_min(1.5)),
    ("weibull_min", lambda r, k: r.weibull_min(2.0, 3.0, size=N, key=k), None, stats.weibull_min(2.0, scale=3.0)),
    ("rayleigh", lambda r, k: r.rayleigh(2.0, size=N, key=k), None, stats.rayleigh(scale=2.0)),
    ("triangular", lambda r, k: r.triangular(0.0, 1.0, 3.0, size=N, key=k), None, stats.triang(1 / 3, loc=0.0, scale=3.0)),
    ("vonmises", lambda r, k: r.vonmises(0.5, 2.0, size=N, key=k), lambda x: _wrap(x, 0.5), stats.vonmises(2.0)),
    ("vonmises_flat", lambda r, k: r.vonmises(0.5, 0.0, size=N, key=k), None, stats.uniform(-np.pi, 2 * np.pi)),
    ("vonmises_small_kappa", lambda r, k: r.vonmises(0.0, 0.05, size=N, key=k), None, stats.vonmises(0.05)),
    ("vonmises_large_kappa", lambda r, k: r.vonmises(0.0, 300.0, size=N, key=k), None, stats.vonmises(300.0)),
    ("wald", lambda r, k: r.wald(1.5, 2.0, size=N, key=k), None, stats.invgauss(0.75, scale=2.0)),
    ("maxwell", lambda r, k: r.maxwell(N, key=k), None, stats.maxwell()),
    ("rand_like", lambda r, k: r.rand_like(jnp.zeros(N), key=k), None, stats.uniform()),
    ("randn_like", lambda r, k: r.randn_like(jnp.zeros(N), key=k), None, stats.norm()),
    ("dirichlet_marginal", lambda r, k: r.dirichlet([1.0, 2.0, 3.0], size=N, key=k)[:, 1], None, stats.beta(2.0, 4.0)),
    ("multivariate_normal_projection",
     lambda r, k: r.multivariate_normal(jnp.array([1.0, -1.0]), jnp.array([[2.0, 0.5], [0.5, 1.0]]), size=N, key=k) @ jnp.array([1.0, 2.0]),
     None, stats.norm(-1.0, math.sqrt(2.0 + 2 * 0.5 * 2 + 4 * 1.0))),
]


@pytest.fixture(scope="module")
def samples() -> dict:
    """All the cases drawn by one compiled program (one XLA compilation instead of one per sampler)."""
    rng = RandomState(0)
    keys = jax.random.split(jax.random.key(2024), len(CASES))
    draws = jax.jit(lambda keys: [case[1](rng, key) for case, key in zip(CASES, keys)])(keys)
    return {case[0]: np.asarray(x, np.float64) for case, x in zip(CASES, draws)}


@pytest.mark.parametrize("name, transform, dist", [(c[0], c[2], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_kolmogorov_smirnov(samples, name, transform, dist):
    x = samples[name]
    assert x.shape == (N,) and np.isfinite(x).all()
    if transform is not None:
        x = transform(x)
    assert stats.kstest(x, dist.cdf).pvalue > 1e-3


def test_truncated_normal_stays_in_bounds(samples):
    assert samples["truncated_normal"].min() >= -1.0 and samples["truncated_normal"].max() <= 2.0
    assert samples["truncated_normal_tail"].min() >= 3.0 and samples["truncated_normal_tail"].max() <= 3.5


def test_orthogonal_matrices():
    q = RandomState(0).orthogonal(4, size=(200,))
    assert q.shape == (200, 4, 4)
    np.testing.assert_allclose(q @ jnp.swapaxes(q, -1, -2), np.broadcast_to(np.eye(4), (200, 4, 4)), atol=1e-5)
    det = np.linalg.det(np.asarray(q, np.float64))
    assert set(np.round(det).astype(int).tolist()) == {-1, 1}
    # Haar measure: each entry of a random orthogonal n x n matrix has mean 0 and variance 1 / n.
    assert abs(float(q[:, 0, 0].mean())) < 0.15 and abs(float(q[:, 0, 0].var()) - 0.25) < 0.08


# -- shapes, broadcasting and dtypes ---------------------------------------------------------------
# Shapes are checked with jax.eval_shape, which traces the samplers without compiling them.
@pytest.mark.parametrize(
    "call, shape",
    [
        (lambda r, k: r.normal([0.0, 1.0, 2.0], key=k), (3,)),
        (lambda r, k: r.normal([0.0, 1.0, 2.0], size=(4, 3), key=k), (4, 3)),
        (lambda r, k: r.uniform(jnp.zeros((2, 1)), jnp.ones(3), key=k), (2, 3)),
        (lambda r, k: r.gamma(np.array([1.0, 2.0]), size=(5, 2), key=k), (5, 2)),
        (lambda r, k: r.rand(key=k), ()),
        (lambda r, k: r.random(key=k), ()),
        (lambda r, k: r.normal(size=np.int64(3), key=k), (3,)),
        (lambda r, k: r.normal(size=[2, np.int32(2)], key=k), (2, 2)),
        (lambda r, k: r.beta(2.0, [1.0, 2.0], size=(3, 2), key=k), (3, 2)),
        (lambda r, k: r.vonmises(jnp.zeros(3), 1.0, size=(2, 3), key=k), (2, 3)),
        (lambda r, k: r.triangular(0.0, [0.5, 1.0], 2.0, key=k), (2,)),
        (lambda r, k: r.dirichlet(jnp.ones((2, 4)), key=k), (2, 4)),
        (lambda r, k: r.dirichlet(jnp.ones(4), size=(3, 2), key=k), (3, 2, 4)),
        (lambda r, k: r.multivariate_normal(jnp.zeros(3), jnp.eye(3), key=k), (3,)),
        (lambda r, k: r.orthogonal(2, key=k), (2, 2)),
    ],
)
def test_shapes_broadcast_like_numpy(call, shape):
    rng = RandomState(0)
    assert jax.eval_shape(lambda: call(rng, jax.random.key(0))).shape == shape


def test_eager_draw_has_the_traced_shape():
    assert RandomState(0).normal([0.0, 1.0, 2.0], size=(4, 3)).shape == (4, 3)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32])
def test_float_dtype_argument(dtype):
    rng = RandomState(0)
    assert rng.normal(size=3, dtype=dtype).dtype == dtype
    assert rng.rand(3, dtype=dtype).dtype == dtype
    assert jax.eval_shape(lambda: rng.gamma(2.0, size=3, dtype=dtype, key=jax.random.key(0))).dtype == dtype


def test_like_samplers_keep_the_floating_dtype():
    x = jnp.zeros((2, 3), jnp.float16)
    assert random.rand_like(x).dtype == jnp.float16
    assert random.randn_like(jnp.zeros(3, jnp.int32)).dtype == jnp.float32
    assert random.randn_like(x, dtype=jnp.float32).shape == (2, 3)


def test_x64_draws_float64():
    assert RandomState(0).normal(size=2).dtype == jnp.float32  # a cached dtype must not outlive the mode
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        assert RandomState(0).normal(size=2).dtype == jnp.float64
        assert RandomState(0).randint(3, size=2).dtype == jnp.int64
    finally:
        jax.config.update("jax_enable_x64", previous)
    assert RandomState(0).normal(size=2).dtype == jnp.float32


# -- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda r: r.normal(0.0, -1.0), r"normal\(\): `scale` must be >= 0, got -1.0"),
        (lambda r: r.normal(0.0, [1.0, -2.0]), r"`scale` must be >= 0, got \[ 1., -2.\]"),
        (lambda r: r.normal(0.0, float("nan")), r"`scale` must be >= 0"),
        (lambda r: r.uniform(2.0, 1.0), r"uniform\(\): low <= high"),
        (lambda r: r.truncated_normal(1.0, 1.0), r"truncated_normal\(\): lower < upper"),
        (lambda r: r.truncated_normal(-1.0, 1.0, scale=0.0), r"truncated_normal\(\): `scale` must be > 0"),
        (lambda r: r.exponential(-1.0), r"exponential\(\): `scale` must be >= 0"),
        (lambda r: r.gamma(0.0), r"gamma\(\): `shape` must be > 0"),
        (lambda r: r.gamma(1.0, -1.0), r"gamma\(\): `scale` must be >= 0"),
        (lambda r: r.beta(1.0, 0.0), r"beta\(\): `b` must be > 0"),
        (lambda r: r.chisquare(-2.0), r"chisquare\(\): `df` must be > 0"),
        (lambda r: r.noncentral_chisquare(2.0, -1.0), r"`nonc` must be >= 0"),
        (lambda r: r.f(1.0, 0.0), r"f\(\): `dfden` must be > 0"),
        (lambda r: r.noncentral_f(1.0, 2.0, -1.0), r"noncentral_f\(\): `nonc` must be >= 0"),
        (lambda r: r.standard_t(0.0), r"standard_t\(\): `df` must be > 0"),
        (lambda r: r.cauchy(0.0, -1.0), r"cauchy\(\): `scale` must be >= 0"),
        (lambda r: r.laplace(0.0, -1.0), r"laplace\(\): `scale` must be >= 0"),
        (lambda r: r.logistic(0.0, -1.0), r"logistic\(\): `scale` must be >= 0"),
        (lambda r: r.gumbel(0.0, -1.0), r"gumbel\(\): `scale` must be >= 0"),
        (lambda r: r.lognormal(0.0, -1.0), r"lognormal\(\): `sigma` must be >= 0"),
        (lambda r: r.loggamma(-1.0), r"loggamma\(\): `a` must be > 0"),
        (lambda r: r.pareto(0.0), r"pareto\(\): `a` must be > 0"),
        (lambda r: r.power(-1.0), r"power\(\): `a` must be > 0"),
        (lambda r: r.weibull(0.0), r"weibull\(\): `a` must be > 0"),
        (lambda r: r.weibull_min(1.0, -1.0), r"weibull_min\(\): `scale` must be >= 0"),
        (lambda r: r.rayleigh(-1.0), r"rayleigh\(\): `scale` must be >= 0"),
        (lambda r: r.triangular(0.0, 2.0, 1.0), r"triangular\(\): left <= mode <= right"),
        (lambda r: r.vonmises(0.0, -1.0), r"vonmises\(\): `kappa` must be >= 0"),
        (lambda r: r.wald(-1.0, 1.0), r"wald\(\): `mean` must be > 0"),
        (lambda r: r.wald(1.0, 0.0), r"wald\(\): `scale` must be > 0"),
        (lambda r: r.dirichlet([1.0, 0.0]), r"dirichlet\(\): `alpha` must be > 0"),
        (lambda r: r.dirichlet(1.0), r"dirichlet\(\): `alpha` must have at least 1 dimension"),
        (lambda r: r.normal(size=2.0), r"normal\(\): size entries must be integers, got 2.0"),
        (lambda r: r.normal(size=(2, 1.5)), r"size entries must be integers, got 1.5"),
        (lambda r: r.rand(2, -1), r"rand\(\): size entries must be >= 0, got -1"),
        (lambda r: r.normal(size=True), r"size entries must be integers"),
        (lambda r: r.normal([0.0, 1.0], size=(3,)), r"parameters of shape \(2,\) cannot be broadcast to size=\(3,\)"),
        (lambda r: r.uniform(jnp.zeros(2), jnp.ones(3)), r"shapes \(2,\), \(3,\), which do not broadcast together"),
        (lambda r: r.normal(dtype=jnp.int32), r"dtype must be a floating dtype"),
        (lambda r: r.multivariate_normal(jnp.zeros(2), jnp.eye(3)), r"`cov` must have shape \(\.\.\., 2, 2\)"),
        (lambda r: r.multivariate_normal(jnp.zeros(2), jnp.array([[1.0, 2.0], [0.0, 1.0]])), r"`cov` is not symmetric"),
        (lambda r: r.multivariate_normal(jnp.zeros(2), -jnp.eye(2)), r"not positive semi-definite"),
        (lambda r: r.multivariate_normal(jnp.zeros(2), jnp.eye(2), method="qr"), r"method must be 'cholesky'"),
        (lambda r: r.orthogonal(0), r"orthogonal\(\): `n` must be a positive int"),
    ],
)
def test_invalid_parameters_raise_value_errors(call, match):
    rng = RandomState(0)
    before = rng.get_key()
    with pytest.raises(RandomParameterError, match=match):
        call(rng)
    np.testing.assert_array_equal(rng.get_key(), before)  # a refused draw does not advance the key


@pytest.mark.parametrize(
    "call",
    [
        lambda r, k, bad: r.normal(0.0, bad - 2.0, size=3, key=k),
        lambda r, k, bad: r.uniform(bad, 0.0, size=3, key=k),
        lambda r, k, bad: r.wald(bad - 2.0, 1.0, size=3, key=k),
        lambda r, k, bad: r.truncated_normal(bad, 0.0, size=3, key=k),
    ],
)
def test_traced_invalid_parameters_give_nan(call):
    rng = RandomState(0)
    out = jax.jit(lambda bad: call(rng, jax.random.key(0), bad))(1.0)
    assert bool(jnp.isnan(out).all())
