"""Regularisers and priors of brainstate.nn.Param: values, scipy log-densities, gradients, hyperparameters."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)
X_REAL = RNG.normal(size=7).astype(np.float32) * 1.5
X_POS = RNG.uniform(0.1, 3.0, size=7).astype(np.float32)
X_UNIT = RNG.uniform(0.05, 0.95, size=7).astype(np.float32)


def _mixture_nll(x, spike, slab, pi):
    return -np.log(pi * stats.norm(0, spike).pdf(x) + (1 - pi) * stats.norm(0, slab).pdf(x)).sum()


def _dirichlet_nll(x, alpha):
    p = special.softmax(x.astype(np.float64))
    return -stats.dirichlet(np.full(p.shape, alpha)).logpdf(p)


# (regulariser, value, -log p(value) by scipy)
PRIORS = [
    (nn.GaussianReg(0.5, 2.0), X_REAL, lambda x: -stats.norm(0.5, 2.0).logpdf(x).sum()),
    (nn.StudentTReg(df=4.0, scale=0.7), X_REAL, lambda x: -stats.t(4.0, scale=0.7).logpdf(x).sum()),
    (nn.CauchyReg(scale=1.3), X_REAL, lambda x: -stats.cauchy(scale=1.3).logpdf(x).sum()),
    (nn.LogNormalReg(mu=0.2, sigma=0.8), X_POS, lambda x: -stats.lognorm(0.8, scale=np.exp(0.2)).logpdf(x).sum()),
    (nn.ExponentialReg(rate=1.7), X_POS, lambda x: -stats.expon(scale=1 / 1.7).logpdf(x).sum()),
    (nn.GammaReg(alpha=2.5, beta=1.5), X_POS, lambda x: -stats.gamma(2.5, scale=1 / 1.5).logpdf(x).sum()),
    (nn.BetaReg(a=2.0, b=3.0), X_UNIT, lambda x: -stats.beta(2.0, 3.0).logpdf(x).sum()),
    (nn.InverseGammaReg(alpha=3.0, beta=2.0), X_POS, lambda x: -stats.invgamma(3.0, scale=2.0).logpdf(x).sum()),
    (nn.LogUniformReg(lower=0.01, upper=10.0), X_POS, lambda x: -stats.loguniform(0.01, 10.0).logpdf(x).sum()),
    (nn.SpikeAndSlabReg(spike_scale=0.1, slab_scale=2.0, pi=0.3), X_REAL, lambda x: _mixture_nll(x, 0.1, 2.0, 0.3)),
    (nn.DirichletReg(alpha=2.5), X_REAL, lambda x: _dirichlet_nll(x, 2.5)),
]


@pytest.mark.parametrize(("reg", "x", "nll"), PRIORS, ids=[type(r).__name__ for r, _, _ in PRIORS])
def test_prior_loss_is_the_scipy_negative_log_density(reg, x, nll):
    np.testing.assert_allclose(float(reg.loss(jnp.asarray(x))), nll(x.astype(np.float64)), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize(("reg", "x", "nll"), PRIORS[:3], ids=[type(r).__name__ for r, _, _ in PRIORS[:3]])
def test_prior_weight_scales_the_loss(reg, x, nll):
    weighted = type(reg)(**{**_hypers(reg), "weight": 3.0})
    np.testing.assert_allclose(float(weighted.loss(jnp.asarray(x))), 3.0 * float(reg.loss(jnp.asarray(x))), rtol=1e-5)


def _hypers(reg):
    return {
        nn.GaussianReg: lambda r: {"mean": r.mean, "std": 1 / jnp.sqrt(r.precision)},
        nn.StudentTReg: lambda r: {"df": r.df, "scale": r.scale},
        nn.CauchyReg: lambda r: {"scale": r.scale},
    }[type(reg)](reg)


# (regulariser, value, expected loss written out in numpy)
PENALTIES = [
    (nn.L1Reg(0.3), X_REAL, lambda x: 0.3 * np.abs(x).sum()),
    (nn.L2Reg(0.3), X_REAL, lambda x: 0.3 * (x**2).sum()),
    (nn.ElasticNetReg(2.0, 0.5, alpha=0.3), X_REAL, lambda x: 0.3 * 2.0 * np.abs(x).sum() + 0.7 * 0.5 * (x**2).sum()),
    (nn.HuberReg(2.0, delta=1.0), X_REAL,
     lambda x: 2.0 * np.where(np.abs(x) <= 1, 0.5 * x**2, np.abs(x) - 0.5).sum()),
    (nn.GroupLassoReg(1.5, group_size=3), X_REAL,
     lambda x: 1.5 * np.linalg.norm(np.pad(x, (0, 2)).reshape(-1, 3), axis=1).sum()),
    (nn.TotalVariationReg(0.5, order=1), X_REAL, lambda x: 0.5 * np.abs(np.diff(x)).sum()),
    (nn.TotalVariationReg(0.5, order=2), X_REAL, lambda x: 0.5 * np.abs(np.diff(x, n=2)).sum()),
    (nn.MaxNormReg(2.0, max_value=1.0), X_REAL, lambda x: 2.0 * max(np.linalg.norm(x) - 1.0, 0.0) ** 2),
    (nn.EntropyReg(0.5), X_REAL, lambda x: -0.5 * stats.entropy(special.softmax(x))),
    (nn.EntropyReg(0.5, maximize=False), X_REAL, lambda x: 0.5 * stats.entropy(special.softmax(x))),
    (nn.OrthogonalReg(0.1), X_REAL.reshape(7, 1), lambda w: 0.1 * ((w.T @ w - 1.0) ** 2).sum()),
    (nn.OrthogonalReg(0.1), RNG.normal(size=(4, 3)),
     lambda w: 0.1 * ((w.T @ w - np.eye(3)) ** 2).sum()),
    (nn.SpectralNormReg(0.5, max_value=1.0), RNG.normal(size=(4, 3)),
     lambda w: 0.5 * max(np.linalg.svd(w, compute_uv=False)[0] - 1.0, 0.0) ** 2),
    (nn.UniformReg(2.0, lower=-1.0, upper=0.5), X_REAL,
     lambda x: 2.0 * (np.maximum(-1.0 - x, 0) ** 2 + np.maximum(x - 0.5, 0) ** 2).sum()),
    (nn.HorseshoeReg(tau=0.5), X_REAL, lambda x: (np.log1p((x / 0.5) ** 2) + np.log(0.5)).sum()),
    (nn.ChainedReg(nn.L1Reg(1.0), nn.L2Reg(2.0), weight=0.5), X_REAL,
     lambda x: 0.5 * (np.abs(x).sum() + 2.0 * (x**2).sum())),
]
ALL = [(r, x) for r, x, _ in PRIORS] + [(r, x) for r, x, _ in PENALTIES]


def _id(r):
    return type(r).__name__


@pytest.mark.parametrize(("reg", "x", "want"), PENALTIES, ids=[_id(r) for r, _, _ in PENALTIES])
def test_penalty_matches_its_formula(reg, x, want):
    x = np.asarray(x, dtype=np.float32)
    np.testing.assert_allclose(float(reg.loss(jnp.asarray(x))), want(x.astype(np.float64)), rtol=2e-4, atol=1e-4)


@pytest.mark.parametrize(("reg", "x"), ALL, ids=[_id(r) for r, _ in ALL])
def test_loss_is_jittable_and_differentiable(reg, x):
    x = jnp.asarray(x, dtype=jnp.float32)
    value, grad = T.jit(jax.value_and_grad(reg.loss))(x)
    np.testing.assert_allclose(value, reg.loss(x), rtol=1e-4, atol=1e-5)
    assert grad.shape == x.shape and bool(jnp.all(jnp.isfinite(grad)))
    np.testing.assert_allclose(reg(x), reg.loss(x), rtol=1e-6)  # calling a regulariser is its loss


@pytest.mark.parametrize(("reg", "x"), ALL, ids=[_id(r) for r, _ in ALL])
def test_sample_init_has_the_shape_and_is_finite(reg, x):
    shape = np.shape(x)
    sample = reg.sample_init(shape)
    assert jnp.shape(sample) == shape and bool(jnp.all(jnp.isfinite(sample)))


@pytest.mark.parametrize(
    ("reg", "mode"),
    [
        (nn.GaussianReg(1.5, 1.0), 1.5),
        (nn.L2Reg(), 0.0),
        (nn.UniformReg(lower=0.0, upper=4.0), 2.0),
        (nn.LogNormalReg(mu=1.0), np.e),
        (nn.GammaReg(alpha=3.0, beta=2.0), 1.0),
        (nn.BetaReg(a=3.0, b=2.0), 2 / 3),
        (nn.InverseGammaReg(alpha=3.0, beta=2.0), 0.5),
        (nn.LogUniformReg(lower=0.1, upper=10.0), 1.0),
        (nn.ChainedReg(nn.GaussianReg(-1.0, 1.0), nn.L1Reg()), -1.0),
    ],
    ids=lambda v: _id(v) if isinstance(v, nn.Regularization) else "",
)
def test_reset_value_is_the_favoured_value(reg, mode):
    np.testing.assert_allclose(float(reg.reset_value()), mode, rtol=1e-4)


@pytest.mark.parametrize(
    ("reg", "names"),
    [
        (nn.GaussianReg(0.0, 1.0, fit_hyper=True), ["mean", "precision"]),
        (nn.L2Reg(0.1, fit_hyper=True), ["weight"]),
        (nn.GammaReg(fit_hyper=True), ["alpha", "beta"]),
        (nn.SpikeAndSlabReg(fit_hyper=True), ["pi", "slab_scale", "spike_scale"]),
        (nn.L2Reg(0.1), []),
    ],
    ids=lambda v: _id(v) if isinstance(v, nn.Regularization) else "",
)
def test_fit_hyper_makes_trainable_hyperparameters(reg, names):
    found = reg.states(bc.ParamState)
    assert sorted(k[0] for k in found) == names


def test_fitted_hyperparameters_train_with_the_param():
    p = nn.Param(jnp.array([2.0, 2.1, 1.9]), reg=nn.GaussianReg(0.0, 1.0, fit_hyper=True))
    params = p.states(bc.ParamState)
    grads = T.jit(T.grad(p.reg_loss, grad_states=params))()
    assert {k[-1] for k in grads} == {"val", "mean", "precision"}
    assert float(grads[("reg", "mean")]) < 0  # the prior mean is pulled towards the values


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: nn.GroupLassoReg(group_size=0), r"GroupLassoReg got group_size=0. Fix: pass a positive int"),
        (lambda: nn.GroupLassoReg(group_size=2.0), r"GroupLassoReg got group_size=2.0"),
        (lambda: nn.TotalVariationReg(order=3), r"TotalVariationReg got order=3. Fix: pass order=1 or order=2"),
        (lambda: nn.ChainedReg(nn.L1Reg(), 0.5), r"ChainedReg argument 1 is 0.5, not a Regularization"),
    ],
)
def test_bad_configuration_raises_config_error(make, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        make()


def test_out_of_support_values_give_finite_losses_and_gradients():
    for reg in (nn.GammaReg(), nn.LogNormalReg(), nn.BetaReg(), nn.InverseGammaReg(), nn.LogUniformReg()):
        x = jnp.array([-1.0, 0.0, 2.0])
        value, grad = jax.value_and_grad(reg.loss)(x)
        assert bool(jnp.isfinite(value)) and bool(jnp.all(jnp.isfinite(grad))), type(reg).__name__
