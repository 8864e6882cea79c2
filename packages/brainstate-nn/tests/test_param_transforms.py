"""The constraint transforms of brainstate.nn.Param: round trips, domains, log-det-Jacobians."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn

N = 5


def _x_real(key):
    return jax.random.normal(key, (N,)) * 2.0


def _x_moderate(key):
    return jax.random.uniform(key, (N,), minval=-3.0, maxval=3.0)


def _x_positive(key):
    return jax.random.uniform(key, (N,), minval=0.2, maxval=4.0)


# (transform, sampler of the unconstrained domain, membership test of the constrained image)
BIJECTIONS = [
    (nn.IdentityT(), _x_real, lambda y: np.isfinite(y)),
    (nn.SigmoidT(-1.0, 3.0), _x_moderate, lambda y: (y > -1) & (y < 3)),
    (nn.ScaledSigmoidT(0.0, 2.0, beta=0.5), _x_moderate, lambda y: (y > 0) & (y < 2)),
    (nn.TanhT(0.0, 1.0), _x_moderate, lambda y: (y > 0) & (y < 1)),
    (nn.SoftsignT(-2.0, 2.0), _x_real, lambda y: (y > -2) & (y < 2)),
    (nn.SoftplusT(0.5), _x_real, lambda y: y > 0.5),
    (nn.NegSoftplusT(1.0), _x_real, lambda y: y < 1.0),
    (nn.LogT(1.0), _x_real, lambda y: y > 1.0),
    (nn.ExpT(-1.0), _x_real, lambda y: y > -1.0),
    (nn.PositiveT(), _x_real, lambda y: y > 0),
    (nn.NegativeT(), _x_real, lambda y: y < 0),
    (nn.AffineT(-2.0, 3.0), _x_real, lambda y: np.isfinite(y)),
    (nn.PowerT(0.5), _x_positive, lambda y: y > -2.0),
    (nn.PowerT(0.0), _x_positive, lambda y: np.isfinite(y)),
    (nn.ChainT(nn.SoftplusT(0.0), nn.AffineT(2.0, 1.0)), _x_real, lambda y: y > 1.0),
    (nn.MaskedT(jnp.array([True, False, True, False, True]), nn.PositiveT()), _x_real, lambda y: y[::2] > 0),
    (nn.OrderedT(), _x_real, lambda y: np.diff(y) > 0),
]
# Transforms that are not bijections: only y -> inverse -> forward returns y on their image.
PROJECTIONS = [
    (nn.ClipT(-1.0, 1.0), lambda y: jnp.clip(y, -1.0, 1.0)),
    (nn.ReluT(0.5), lambda y: jnp.abs(y) + 0.5),
    (nn.UnitVectorT(), lambda y: y / jnp.linalg.norm(y)),
]
HAS_LADJ = [t for t, _, _ in BIJECTIONS]


def _name(t):
    return repr(t)


@pytest.mark.parametrize(("t", "sample", "inside"), BIJECTIONS, ids=[_name(t) for t, _, _ in BIJECTIONS])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bijection_round_trip_and_image(t, sample, inside, seed):
    x = sample(jax.random.PRNGKey(seed))
    y = t.forward(x)
    assert np.all(inside(np.asarray(y)))
    np.testing.assert_allclose(t.inverse(y), x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(t.forward(t.inverse(y)), y, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(t(x), y)


@pytest.mark.parametrize(("t", "to_image"), PROJECTIONS, ids=[_name(t) for t, _ in PROJECTIONS])
@pytest.mark.parametrize("seed", [0, 1])
def test_projection_round_trip_on_image(t, to_image, seed):
    y = to_image(jax.random.normal(jax.random.PRNGKey(seed), (N,)) * 2.0)
    np.testing.assert_allclose(t.forward(t.inverse(y)), y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simplex_round_trip(seed):
    t = nn.SimplexT()
    x = _x_moderate(jax.random.PRNGKey(seed))
    y = t.forward(x)
    assert y.shape == (N + 1,) and bool(jnp.all(y > 0))
    np.testing.assert_allclose(float(y.sum()), 1.0, rtol=1e-5)
    np.testing.assert_allclose(t.inverse(y), x, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("t", HAS_LADJ, ids=_name)
def test_log_abs_det_jacobian_matches_autodiff(t):
    sample = next(s for u, s, _ in BIJECTIONS if u is t)
    x = sample(jax.random.PRNGKey(3))
    jac = jax.jacobian(t.forward)(x)
    _, want = jnp.linalg.slogdet(jac)
    np.testing.assert_allclose(t.log_abs_det_jacobian(x, t.forward(x)), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("t", [nn.SoftplusT(0.0), nn.SigmoidT(0.0, 1.0), nn.AffineT(3.0, 0.0)], ids=_name)
def test_log_abs_det_jacobian_batches_over_leading_axes(t):
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 4))
    got = t.log_abs_det_jacobian(x, t.forward(x))
    want = jnp.stack([t.log_abs_det_jacobian(row, t.forward(row)) for row in x])
    assert got.shape == (3,)
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("t", [nn.ClipT(0.0, 1.0), nn.ReluT(), nn.SimplexT(), nn.UnitVectorT()], ids=_name)
def test_non_bijections_have_no_log_det(t):
    with pytest.raises(NotImplementedError, match="no log-det-Jacobian"):
        t.log_abs_det_jacobian(jnp.ones(3), jnp.ones(3))


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: nn.SigmoidT(1.0, 1.0), r"SigmoidT got lower=1.0, upper=1.0.*Fix: pass lower < upper"),
        (lambda: nn.TanhT(2.0, 0.0), r"TanhT .* interval is empty"),
        (lambda: nn.ClipT(3.0, -3.0), r"ClipT .* interval is empty"),
        (lambda: nn.AffineT(0.0, 1.0), r"AffineT got scale=0.0: a zero scale is not invertible"),
        (lambda: nn.ScaledSigmoidT(0.0, 1.0, beta=-1.0), r"ScaledSigmoidT got beta=-1.0"),
        (lambda: nn.ChainT(nn.PositiveT(), "exp"), r"ChainT argument 1 is 'exp', not a Transform"),
        (lambda: nn.MaskedT([True], jnp.exp), r"MaskedT got transform=.*not a Transform"),
    ],
)
def test_bad_configuration_raises_config_error(make, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        make()


def test_masked_transform_keeps_gradients_finite_where_undefined():
    t = nn.MaskedT(jnp.array([True, False]), nn.LogT(0.0))
    y = jnp.array([2.0, -5.0])  # log(-5) would be NaN without the safe value
    g = jax.grad(lambda v: jnp.sum(t.inverse(v)))(y)
    assert bool(jnp.all(jnp.isfinite(g)))
    np.testing.assert_allclose(t.inverse(y), [np.log(2.0), -5.0], rtol=1e-6)


def test_unit_vector_of_zero_is_zero_with_finite_gradient():
    t = nn.UnitVectorT()
    assert bool(jnp.all(t(jnp.zeros(3)) == 0))
    assert bool(jnp.all(jnp.isfinite(jax.grad(lambda x: t(x).sum())(jnp.zeros(3)))))


def test_repr_shows_hyperparameters():
    assert repr(nn.SigmoidT(0.0, 1.0)) == "SigmoidT(lower=0.0, upper=1.0)"
    assert repr(nn.ChainT(nn.PositiveT(), nn.AffineT(2.0, 0.0))) == "ChainT(PositiveT(), AffineT(scale=2.0, shift=0.0))"
