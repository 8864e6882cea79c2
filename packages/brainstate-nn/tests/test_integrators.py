"""One-step integrators: exactness of exponential Euler, convergence orders, Euler-Maruyama statistics."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T


def _integrate(step, fn, x0, dt, t_end):
    with bc.environ.context(dt=dt):
        n = int(round(t_end / dt))
        return T.jit(lambda x: jax.lax.fori_loop(0, n, lambda i, x: step(fn, x), x))(x0)


@pytest.mark.parametrize("dt", [0.01, 0.5, 5.0])
def test_exp_euler_is_exact_for_a_linear_ode(dt):
    a, b = -0.7, 2.1    # dx/dt = a x + b, x(t) = -b/a + (x0 + b/a) exp(a t)
    x0 = jnp.array([0.0, 1.0, -3.0])
    with bc.environ.context(dt=dt):
        x1 = nn.exp_euler_step(lambda x: a * x + b, x0)
    exact = -b / a + (np.asarray(x0) + b / a) * np.exp(a * dt)
    np.testing.assert_allclose(x1, exact, rtol=1e-5, atol=1e-6)


def test_exp_euler_with_per_element_rates_and_extra_arguments():
    tau = jnp.array([1.0, 10.0, 100.0])
    with bc.environ.context(dt=0.3):
        x1 = nn.exp_euler_step(lambda x, drive, scale=1.0: (-x + scale * drive) / tau, jnp.zeros(3), 2.0, scale=3.0)
    np.testing.assert_allclose(x1, -6.0 * np.expm1(-0.3 / np.asarray(tau, np.float64)), rtol=1e-5)


def test_exp_euler_handles_a_zero_rate_like_euler():
    with bc.environ.context(dt=0.25):
        x1 = nn.exp_euler_step(lambda x: 0.0 * x + 4.0, jnp.array([1.0]))
        g = jax.grad(lambda a: nn.exp_euler_step(lambda x: a * x + 4.0, 1.0))(0.0)
    np.testing.assert_allclose(x1, [2.0])
    assert np.isfinite(g)


def _order(step, dts):
    """Observed convergence order on dx/dt = sin(x) + cos(x)^2 from x0 = 0.3 over t = 1."""
    fn = lambda x: jnp.sin(x) + jnp.cos(x) ** 2  # noqa: E731
    with bc.environ.context(precision=64):
        ref = _integrate(nn.rk4_step, fn, jnp.float64(0.3), 1e-4, 1.0)
        errs = [abs(float(_integrate(step, fn, jnp.float64(0.3), dt, 1.0) - ref)) for dt in dts]
    return [math.log(errs[i] / errs[i + 1]) / math.log(dts[i] / dts[i + 1]) for i in range(len(dts) - 1)]


@pytest.mark.parametrize("step, order", [(nn.euler_step, 1), (nn.rk2_step, 2), (nn.rk4_step, 4)])
def test_convergence_order(step, order):
    orders = _order(step, [0.1, 0.05, 0.025])
    assert all(abs(o - order) < 0.3 for o in orders), orders


def test_explicit_steps_accept_pytrees():
    with bc.environ.context(dt=0.1):
        out = nn.rk4_step(lambda s: {"x": s["v"], "v": -s["x"]}, {"x": jnp.float32(1.0), "v": jnp.float32(0.0)})
    np.testing.assert_allclose([out["x"], out["v"]], [math.cos(0.1), -math.sin(0.1)], rtol=1e-5)


def test_euler_maruyama_matches_the_ornstein_uhlenbeck_statistics():
    """dx = (mu - x) / tau dt + sigma dW: stationary mean mu and variance sigma^2 tau / 2."""
    mu, tau, sigma, dt, n = 1.5, 2.0, 0.8, 0.01, 4000
    R.seed(42)
    x = bc.HiddenState(jnp.full(n, mu))

    def step(i):
        x.value = nn.exp_euler_step(lambda v: (mu - v) / tau, lambda v: sigma, x.value)
        return x.value

    with bc.environ.context(dt=dt):
        xs = T.jit(lambda: T.for_loop(step, jnp.arange(1000)))()
    final = np.asarray(xs[-1])
    var = sigma ** 2 * tau / 2 * (1 - math.exp(-2 * 1000 * dt / tau))
    assert abs(final.mean() - mu) < 4 * math.sqrt(var / n)
    assert abs(final.var() / var - 1) < 0.08
    lag = np.corrcoef(np.asarray(xs[-1]), np.asarray(xs[-101]))[0, 1]   # autocorrelation exp(-1 ms / tau)
    assert abs(lag - math.exp(-100 * dt / tau)) < 0.05


def test_steps_need_dt():
    import threading

    errors = []

    def run():
        try:
            nn.euler_step(lambda x: -x, 1.0)
        except Exception as e:  # noqa: BLE001 - checked below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if not errors:
        pytest.skip("a global dt is set")
    assert isinstance(errors[0], bc.EnvironKeyError)


def test_exp_euler_needs_the_state():
    with bc.environ.context(dt=0.1), pytest.raises(bc.ConfigError, match="needs the state.*Fix"):
        nn.exp_euler_step(lambda x: -x)
