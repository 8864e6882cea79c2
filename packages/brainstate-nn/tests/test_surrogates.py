"""The surrogate-gradient family: step forward, the documented derivative backward (against NumPy)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate
import brainstate_core as bc
from brainstate_nn import surrogate as sg

# Points dense around zero and the piecewise breakpoints, plus the breakpoints themselves.
X = np.unique(np.concatenate([np.linspace(-3, 3, 241), [-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]])).astype(np.float32)


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _normal(x, mu, sd):
    return np.exp(-((x - mu) ** 2) / (2 * sd**2)) / (np.sqrt(2 * np.pi) * sd)


def _fourier(x, n, t):
    w = 2 * np.pi / t
    return 4 / t * sum(np.cos((2 * i - 1) * w * x) for i in range(1, n))


# name -> (class, function twin, non-default parameters, NumPy derivative f(x, **params))
CASES = {
    "Sigmoid": (sg.Sigmoid, sg.sigmoid, {"alpha": 2.5},
                lambda x, alpha=4.0: alpha * _sig(alpha * x) * (1 - _sig(alpha * x))),
    "PiecewiseQuadratic": (sg.PiecewiseQuadratic, sg.piecewise_quadratic, {"alpha": 2.0},
                           lambda x, alpha=1.0: np.where(np.abs(x) > 1 / alpha, 0.0, alpha - alpha**2 * np.abs(x))),
    "PiecewiseExp": (sg.PiecewiseExp, sg.piecewise_exp, {"alpha": 3.0},
                     lambda x, alpha=1.0: alpha / 2 * np.exp(-alpha * np.abs(x))),
    "SoftSign": (sg.SoftSign, sg.soft_sign, {"alpha": 2.0},
                 lambda x, alpha=1.0: 0.5 * alpha / (1 + np.abs(alpha * x)) ** 2),
    "Arctan": (sg.Arctan, sg.arctan, {"alpha": 3.0},
               lambda x, alpha=1.0: 0.5 * alpha / (1 + (np.pi / 2 * alpha * x) ** 2)),
    "NonzeroSignLog": (sg.NonzeroSignLog, sg.nonzero_sign_log, {"alpha": 4.0},
                       lambda x, alpha=1.0: alpha / (1 + alpha * np.abs(x))),
    "ERF": (sg.ERF, sg.erf, {"alpha": 0.7},
            lambda x, alpha=1.0: alpha / np.sqrt(np.pi) * np.exp(-(alpha**2) * x**2)),
    "PiecewiseLeakyRelu": (sg.PiecewiseLeakyRelu, sg.piecewise_leaky_relu, {"c": 0.2, "w": 0.5},
                           lambda x, c=0.01, w=1.0: np.where(np.abs(x) > w, c, 1 / w)),
    "SquarewaveFourierSeries": (sg.SquarewaveFourierSeries, sg.squarewave_fourier_series,
                                {"n": 5, "t_period": 3.0},
                                lambda x, n=2, t_period=8.0: _fourier(x, n, t_period)),
    "S2NN": (sg.S2NN, sg.s2nn, {"alpha": 2.0, "beta": 0.5, "epsilon": 1e-6},
             lambda x, alpha=4.0, beta=1.0, epsilon=1e-8: np.where(
                 x < 0, alpha * _sig(alpha * x) * (1 - _sig(alpha * x)), beta / (np.abs(x) + 1))),
    "QPseudoSpike": (sg.QPseudoSpike, sg.q_pseudo_spike, {"alpha": 3.5},
                     lambda x, alpha=2.0: (1 + 2 * np.abs(x) / (alpha - 1)) ** (-alpha)),
    "LeakyRelu": (sg.LeakyRelu, sg.leaky_relu, {"alpha": -0.3, "beta": 2.0},
                  lambda x, alpha=0.1, beta=1.0: np.where(x >= 0, beta, alpha)),
    "LogTailedRelu": (sg.LogTailedRelu, sg.log_tailed_relu, {"alpha": 0.05},
                      lambda x, alpha=0.0: np.select([x <= 0, x <= 1], [alpha, 1.0], 1 / np.maximum(x, 1))),
    "ReluGrad": (sg.ReluGrad, sg.relu_grad, {"alpha": 0.7, "width": 0.5},
                 lambda x, alpha=0.3, width=1.0: np.clip(alpha * (width - np.abs(x)), 0, None)),
    "GaussianGrad": (sg.GaussianGrad, sg.gaussian_grad, {"sigma": 1.2, "alpha": 2.0},
                     lambda x, sigma=0.5, alpha=0.5: alpha * _normal(x, 0, sigma)),
    "MultiGaussianGrad": (sg.MultiGaussianGrad, sg.multi_gaussian_grad,
                          {"h": 0.3, "s": 2.0, "sigma": 0.8, "scale": 1.5},
                          lambda x, h=0.15, s=6.0, sigma=0.5, scale=0.5: scale * (
                              (1 + h) * _normal(x, 0, sigma) - h * _normal(x, sigma, s * sigma)
                              - h * _normal(x, -sigma, s * sigma))),
    "InvSquareGrad": (sg.InvSquareGrad, sg.inv_square_grad, {"alpha": 3.0},
                      lambda x, alpha=100.0: (alpha * np.abs(x) + 1.0) ** -2),
    "SlayerGrad": (sg.SlayerGrad, sg.slayer_grad, {"alpha": 2.0},
                   lambda x, alpha=1.0: np.exp(-alpha * np.abs(x))),
}

NAMES = sorted(CASES)
# Each case with its default parameters and with the non-default ones.
VARIANTS = [(name, params) for name in NAMES for params in ({}, CASES[name][2])]
VARIANT_IDS = [f"{name}-{'custom' if params else 'default'}" for name, params in VARIANTS]

# name -> parameter sets that must be refused, with the regex the message must match.
INVALID = {
    "Sigmoid": [({"alpha": 0.0}, r"Sigmoid alpha must be a finite number > 0.*Fix: pass e.g. alpha=4\.0")],
    "PiecewiseQuadratic": [({"alpha": -1.0}, r"PiecewiseQuadratic alpha must be a finite number > 0")],
    "PiecewiseExp": [({"alpha": math.inf}, r"PiecewiseExp alpha must be a finite number > 0, got inf")],
    "SoftSign": [({"alpha": "1"}, r"SoftSign alpha must be a finite number > 0, got '1'")],
    "Arctan": [({"alpha": 0}, r"Arctan alpha must be a finite number > 0")],
    "NonzeroSignLog": [({"alpha": -2.0}, r"NonzeroSignLog alpha must be a finite number > 0")],
    "ERF": [({"alpha": math.nan}, r"ERF alpha must be a finite number > 0, got nan")],
    "PiecewiseLeakyRelu": [({"w": 0.0}, r"PiecewiseLeakyRelu w must be a finite number > 0"),
                           ({"c": math.nan}, r"PiecewiseLeakyRelu c must be a finite real number")],
    "SquarewaveFourierSeries": [({"n": 1}, r"SquarewaveFourierSeries n must be an integer >= 2, got 1"),
                                ({"n": 2.5}, r"n must be an integer >= 2, got 2\.5"),
                                ({"t_period": 0.0}, r"t_period must be a finite number > 0")],
    "S2NN": [({"alpha": 0.0}, r"S2NN alpha must be a finite number > 0"),
             ({"epsilon": 0.0}, r"S2NN epsilon must be a finite number > 0"),
             ({"beta": None}, r"S2NN beta must be a finite real number, got None")],
    "QPseudoSpike": [({"alpha": 1.0}, r"QPseudoSpike alpha must be a finite number > 1, got 1\.0")],
    "LeakyRelu": [({"alpha": True}, r"LeakyRelu alpha must be a finite real number, got True"),
                  ({"beta": math.inf}, r"LeakyRelu beta must be a finite real number")],
    "LogTailedRelu": [({"alpha": [0.1]}, r"LogTailedRelu alpha must be a finite real number")],
    "ReluGrad": [({"width": 0.0}, r"ReluGrad width must be > 0")],
    "GaussianGrad": [({"sigma": 0.0}, r"GaussianGrad sigma must be a finite number > 0"),
                     ({"alpha": math.nan}, r"GaussianGrad alpha must be a finite real number")],
    "MultiGaussianGrad": [({"s": 0.0}, r"MultiGaussianGrad s must be a finite number > 0"),
                          ({"sigma": -1.0}, r"MultiGaussianGrad sigma must be a finite number > 0"),
                          ({"h": math.inf}, r"MultiGaussianGrad h must be a finite real number")],
    "InvSquareGrad": [({"alpha": 0.0}, r"InvSquareGrad alpha must be a finite number > 0")],
    "SlayerGrad": [({"alpha": -1.0}, r"SlayerGrad alpha must be a finite number > 0")],
}
INVALID_CASES = [(name, params, regex) for name in NAMES for params, regex in INVALID[name]]


def _reference(name, params):
    return CASES[name][3](X.astype(np.float64), **params)


def _close(got, want):
    # float32 against float64: relative error, with an absolute floor scaled to the curve's peak
    # (cancellation in the Fourier sums leaves ~1e-6 of the peak where the sum crosses zero).
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-6 * np.abs(want).max())


def test_every_upstream_name_is_public():
    upstream = (
        "Sigmoid PiecewiseQuadratic PiecewiseExp SoftSign Arctan NonzeroSignLog ERF PiecewiseLeakyRelu "
        "SquarewaveFourierSeries S2NN QPseudoSpike LeakyRelu LogTailedRelu ReluGrad GaussianGrad "
        "MultiGaussianGrad InvSquareGrad SlayerGrad"
    ).split()
    assert sorted(upstream) == NAMES
    for name in NAMES:
        cls = getattr(brainstate.surrogate, name)
        assert cls is getattr(sg, name)
        assert issubclass(cls, sg.Surrogate)
        assert cls.__module__ == "brainstate.surrogate"  # the public home, not brainstate.nn.surrogate
        assert CASES[name][1].__module__ == "brainstate.surrogate"


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=VARIANT_IDS)
def test_forward_is_the_step(name, params):
    fn = CASES[name][0](**params)
    out = fn(jnp.asarray(X))
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(out), (X >= 0).astype(np.float32))


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=VARIANT_IDS)
def test_grad_is_the_documented_derivative(name, params):
    fn = CASES[name][0](**params)
    got = jax.vmap(jax.grad(fn))(jnp.asarray(X))
    _close(got, _reference(name, params))


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=VARIANT_IDS)
def test_jit_vmap_jvp(name, params):
    fn = CASES[name][0](**params)
    even = X.size - X.size % 2
    x = jnp.asarray(X[:even]).reshape(-1, 2)
    want_fwd = (np.asarray(x) >= 0).astype(np.float32)
    want_grad = _reference(name, params)[:even].reshape(-1, 2)
    np.testing.assert_array_equal(np.asarray(jax.jit(fn)(x)), want_fwd)
    np.testing.assert_array_equal(np.asarray(jax.vmap(fn)(x)), want_fwd)
    # grad of a sum through jit: the elementwise derivative.
    g = jax.jit(jax.grad(lambda v: fn(v).sum()))(x)
    _close(g, want_grad)
    primal, tangent = jax.jvp(fn, (x,), (jnp.full_like(x, 2.0),))
    np.testing.assert_array_equal(np.asarray(primal), want_fwd)
    _close(tangent, 2 * want_grad)


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=VARIANT_IDS)
def test_function_twin_equals_class(name, params):
    cls, twin = CASES[name][:2]
    x = jnp.asarray(X)
    np.testing.assert_array_equal(np.asarray(twin(x, **params)), np.asarray(cls(**params)(x)))
    got = jax.vmap(jax.grad(lambda v: twin(v, **params)))(x)
    want = jax.vmap(jax.grad(cls(**params)))(x)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize(("name", "params", "regex"), INVALID_CASES,
                         ids=[f"{n}-{next(iter(p))}" for n, p, _ in INVALID_CASES])
def test_invalid_parameters_are_refused(name, params, regex):
    cls, twin = CASES[name][:2]
    with pytest.raises(bc.ConfigError, match=regex):
        cls(**params)
    with pytest.raises(bc.ConfigError, match=regex):
        twin(0.0, **params)


def test_integer_input_is_promoted_and_scalar_grad_works():
    fn = sg.Sigmoid()
    assert fn(jnp.array([-1, 0, 2])).dtype == jnp.float32
    assert float(jax.grad(sg.slayer_grad)(0.0)) == 1.0


def test_repr_shows_public_home_and_parameters():
    assert repr(sg.MultiGaussianGrad()) == "MultiGaussianGrad(h=0.15, s=6.0, sigma=0.5, scale=0.5)"
    assert repr(sg.SquarewaveFourierSeries(n=3)) == "SquarewaveFourierSeries(n=3, t_period=8.0)"
