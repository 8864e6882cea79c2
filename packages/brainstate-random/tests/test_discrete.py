"""Integer-valued samplers: moments against theory, frequencies, dtypes and bad parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_random import RandomParameterError, RandomState

stats = pytest.importorskip("scipy.stats")

N = 4000

# (id, draw(rng, key) -> samples, SciPy distribution giving the theoretical moments)
CASES = [
    ("randint", lambda r, k: r.randint(3, 11, size=N, key=k), stats.randint(3, 11)),
    ("randint_high_none", lambda r, k: r.randint(7, size=N, key=k), stats.randint(0, 7)),
    ("random_integers", lambda r, k: r.random_integers(2, 9, size=N, key=k), stats.randint(2, 10)),
    ("randint_like", lambda r, k: r.randint_like(jnp.zeros(N, jnp.int32), 3, 11, key=k), stats.randint(3, 11)),
    ("bernoulli", lambda r, k: r.bernoulli(0.3, size=N, key=k), stats.bernoulli(0.3)),
    ("binomial", lambda r, k: r.binomial(12, 0.35, size=N, key=k), stats.binom(12, 0.35)),
    ("poisson", lambda r, k: r.poisson(3.5, size=N, key=k), stats.poisson(3.5)),
    ("poisson_large", lambda r, k: r.poisson(40.0, size=N, key=k), stats.poisson(40.0)),
    ("geometric", lambda r, k: r.geometric(0.3, size=N, key=k), stats.geom(0.3)),
    ("hypergeometric", lambda r, k: r.hypergeometric(7, 12, 8, size=N, key=k), stats.hypergeom(19, 7, 8)),
    ("hypergeometric_large_sample", lambda r, k: r.hypergeometric(7, 12, 15, size=N, key=k), stats.hypergeom(19, 7, 15)),
    ("negative_binomial", lambda r, k: r.negative_binomial(3.5, 0.4, size=N, key=k), stats.nbinom(3.5, 0.4)),
    ("logseries", lambda r, k: r.logseries(0.7, size=N, key=k), stats.logser(0.7)),
    ("zipf", lambda r, k: r.zipf(6.5, size=N, key=k), stats.zipf(6.5)),
    ("multinomial_marginal", lambda r, k: r.multinomial(10, [0.2, 0.5, 0.3], size=N, key=k)[:, 1], stats.binom(10, 0.5)),
    ("categorical", lambda r, k: r.categorical(jnp.log(jnp.array([0.1, 0.2, 0.3, 0.4])), size=N, key=k),
     stats.rv_discrete(values=([0, 1, 2, 3], [0.1, 0.2, 0.3, 0.4]))),
]


# (id, draw(rng, key) -> samples, SciPy distribution) for a chi-square test of the frequencies
PMF_CASES = [
    ("pmf_zipf", lambda r, k: r.zipf(2.0, size=N, key=k), stats.zipf(2.0)),
    ("pmf_logseries", lambda r, k: r.logseries(0.9, size=N, key=k), stats.logser(0.9)),
    ("pmf_hypergeometric", lambda r, k: r.hypergeometric(30, 20, 10, size=N, key=k), stats.hypergeom(50, 30, 10)),
    ("pmf_negative_binomial", lambda r, k: r.negative_binomial(2.0, 0.5, size=N, key=k), stats.nbinom(2, 0.5)),
]

# (id, draw(rng, key) -> samples, the only value possible)
DEGENERATE_CASES = [
    ("binomial_n0", lambda r, k: r.binomial(0, 0.5, size=N, key=k), 0),
    ("poisson_lam0", lambda r, k: r.poisson(0.0, size=N, key=k), 0),
    ("geometric_p1", lambda r, k: r.geometric(1.0, size=N, key=k), 1),
    ("hypergeometric_no_bad", lambda r, k: r.hypergeometric(5, 0, 3, size=N, key=k), 3),
    ("negative_binomial_p1", lambda r, k: r.negative_binomial(2.0, 1.0, size=N, key=k), 0),
    ("logseries_p0", lambda r, k: r.logseries(0.0, size=N, key=k), 1),
]


@pytest.fixture(scope="module")
def samples() -> dict:
    """All the cases drawn by one compiled program (one XLA compilation instead of one per sampler)."""
    cases = CASES + PMF_CASES + DEGENERATE_CASES
    rng = RandomState(0)
    keys = jax.random.split(jax.random.key(7), len(cases))
    draws = jax.jit(lambda keys: [case[1](rng, key) for case, key in zip(cases, keys)])(keys)
    return {case[0]: np.asarray(x) for case, x in zip(cases, draws)}


@pytest.mark.parametrize("name, dist", [(c[0], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_mean_and_variance_match_theory(samples, name, dist):
    x = samples[name].astype(np.float64)
    assert x.shape == (N,)
    mean, var, kurtosis = (float(v) for v in dist.stats(moments="mvk"))
    # five standard errors of the sample mean and of the sample variance
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / N)
    assert abs(x.var() - var) < 5 * var * np.sqrt((kurtosis + 2) / N)
    support = dist.support()
    assert x.min() >= support[0] and x.max() <= support[1]


@pytest.mark.parametrize("name, dist", [(c[0], c[2]) for c in PMF_CASES], ids=[c[0] for c in PMF_CASES])
def test_frequencies_match_the_pmf(samples, name, dist):
    x = samples[name]
    values = np.arange(x.min(), 12)
    expected = dist.pmf(values) * N
    keep = expected >= 5
    observed = np.array([(x == v).sum() for v in values[keep]], np.float64)
    expected = expected[keep]
    tail_observed, tail_expected = N - observed.sum(), N - expected.sum()
    statistic, p = stats.chisquare(np.append(observed, tail_observed), np.append(expected, tail_expected))
    assert p > 1e-3, (statistic, p)


@pytest.mark.parametrize("name, value", [(c[0], c[2]) for c in DEGENERATE_CASES], ids=[c[0] for c in DEGENERATE_CASES])
def test_degenerate_parameters(samples, name, value):
    assert (samples[name] == value).all()


@pytest.mark.parametrize(
    "call, dtype",
    [
        (lambda r, k: r.randint(5, size=3, key=k), jnp.int32),
        (lambda r, k: r.poisson(2.0, size=3, key=k), jnp.int32),
        (lambda r, k: r.bernoulli(0.5, size=3, key=k), jnp.bool_),
        (lambda r, k: r.randint(5, size=3, dtype=jnp.uint8, key=k), jnp.uint8),
        (lambda r, k: r.randint_like(jnp.zeros(3, jnp.int16), 4, key=k), jnp.int16),
        (lambda r, k: r.randint_like(jnp.zeros(3), 4, key=k), jnp.int32),
        (lambda r, k: r.binomial(5, 0.5, size=3, dtype=jnp.int16, key=k), jnp.int16),
        (lambda r, k: r.zipf(2.0, size=3, dtype=jnp.int16, key=k), jnp.int16),
    ],
)
def test_integer_dtypes(call, dtype):
    rng = RandomState(0)
    assert jax.eval_shape(lambda: call(rng, jax.random.key(0))).dtype == dtype


def test_randint_broadcasts_array_bounds():
    x = RandomState(0).randint([0, 10, 100], [5, 20, 200], size=(50, 3))
    assert x.shape == (50, 3)
    assert bool(((x >= jnp.array([0, 10, 100])) & (x < jnp.array([5, 20, 200]))).all())


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda r: r.randint(5, 5), r"randint\(\): low < high"),
        (lambda r: r.randint(0), r"randint\(\): low < high"),
        (lambda r: r.randint(0, 2**40), r"the range within int32"),
        (lambda r: r.randint(0, 300, dtype=jnp.uint8), r"the range within uint8"),
        (lambda r: r.randint(0, 3, dtype=jnp.float32), r"dtype must be an integer dtype"),
        (lambda r: r.random_integers(0), r"random_integers\(\): low < high|randint\(\): low < high"),
        (lambda r: r.bernoulli(1.5), r"bernoulli\(\): `p` must be in \[0, 1\], got 1.5"),
        (lambda r: r.bernoulli(-0.1), r"bernoulli\(\): `p` must be in \[0, 1\]"),
        (lambda r: r.binomial(-1, 0.5), r"binomial\(\): `n` must be a non-negative integer"),
        (lambda r: r.binomial(2.5, 0.5), r"binomial\(\): `n` must be a non-negative integer"),
        (lambda r: r.binomial(5, [0.5, 1.2]), r"binomial\(\): `p` must be in \[0, 1\]"),
        (lambda r: r.poisson(-1.0), r"poisson\(\): `lam` must be >= 0"),
        (lambda r: r.geometric(0.0), r"geometric\(\): `p` must be in \(0, 1\]"),
        (lambda r: r.hypergeometric(3, 2, 6), r"nsample <= ngood \+ nbad"),
        (lambda r: r.hypergeometric(-3, 2, 1), r"`ngood` must be a non-negative integer"),
        (lambda r: r.negative_binomial(0.0, 0.5), r"negative_binomial\(\): `n` must be > 0"),
        (lambda r: r.negative_binomial(1.0, 0.0), r"negative_binomial\(\): `p` must be in \(0, 1\]"),
        (lambda r: r.logseries(1.0), r"logseries\(\): `p` must be in \[0, 1\)"),
        (lambda r: r.zipf(1.0), r"zipf\(\): `a` must be > 1"),
        (lambda r: r.poisson(1.0, size=(2, 0.5)), r"size entries must be integers"),
    ],
)
def test_invalid_parameters_raise_value_errors(call, match):
    with pytest.raises(RandomParameterError, match=match):
        call(RandomState(0))


@pytest.mark.parametrize(
    "call",
    [
        lambda k, bad: RandomState(0).poisson(bad - 2.0, size=3, key=k),
        lambda k, bad: RandomState(0).binomial(4, bad, size=3, key=k),
        lambda k, bad: RandomState(0).zipf(bad - 1.0, size=3, key=k),
    ],
)
def test_traced_invalid_parameters_give_minus_one(call):
    out = jax.jit(lambda bad: call(jax.random.key(0), bad))(1.5)
    assert out.tolist() == [-1, -1, -1]
