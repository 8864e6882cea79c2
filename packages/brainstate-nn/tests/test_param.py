"""brainstate.nn.Param and Const: storage behind a transform, regularisation, caching, training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T


@pytest.mark.parametrize(
    ("t", "value"),
    [
        (None, [1.0, -2.0]),
        (nn.SoftplusT(0.0), [0.5, 3.0]),
        (nn.SigmoidT(0.0, 1.0), [0.2, 0.9]),
        (nn.PositiveT(), [1e-3, 7.0]),
        (nn.ChainT(nn.SoftplusT(0.0), nn.AffineT(-1.0, 0.0)), [-1.0, -0.1]),
    ],
)
def test_value_is_given_in_constrained_space_and_stored_unconstrained(t, value):
    p = nn.Param(jnp.array(value), t=t)
    t = nn.IdentityT() if t is None else t
    assert isinstance(p.val, bc.ParamState)
    np.testing.assert_allclose(p.value(), value, rtol=1e-5)
    np.testing.assert_allclose(p.val.value, t.inverse(jnp.array(value)), rtol=1e-6)
    np.testing.assert_allclose(p(), p.value())  # callable, as upstream's Param
    p.set_value(jnp.array(value) * 0.5 if not isinstance(t, nn.SigmoidT) else jnp.array([0.5, 0.5]))
    np.testing.assert_allclose(p.val.value, t.inverse(p.value()), rtol=1e-5)


def test_integer_values_become_float():
    p = nn.Param(3)
    assert p.value().dtype == bc.environ.dftype()


def test_fixed_param_and_const_are_not_states():
    for p in (nn.Param(jnp.ones(2), fit=False), nn.Const(jnp.ones(2))):
        assert not isinstance(p.val, bc.State)
        assert len(p.states()) == 0
        assert p.fit is False
    c = nn.Const(jnp.ones(2), reg=nn.L2Reg(1.0))
    assert c.reg_loss() == 0.0  # a constant contributes no regularisation
    c.set_value(jnp.zeros(2))
    np.testing.assert_allclose(c.value(), 0.0)


def test_reg_loss_uses_the_constrained_value():
    p = nn.Param(jnp.array([2.0, 3.0]), t=nn.PositiveT(), reg=nn.L1Reg(0.5))
    np.testing.assert_allclose(p.reg_loss(), 2.5, rtol=1e-5)
    assert nn.Param(1.0).reg_loss() == 0.0


def test_precompute_applies_after_transform():
    p = nn.Param(jnp.array([1.0, 2.0]), t=nn.PositiveT(), precompute=lambda v: v / v.sum())
    np.testing.assert_allclose(p.value(), [1 / 3, 2 / 3], rtol=1e-5)


def test_reset_to_prior_and_clip():
    p = nn.Param(jnp.array([5.0, 6.0]), t=nn.SoftplusT(0.0), reg=nn.GaussianReg(2.0, 1.0))
    p.reset_to_prior()
    np.testing.assert_allclose(p.value(), [2.0, 2.0], rtol=1e-5)
    p.set_value(jnp.array([0.5, 9.0]))
    p.clip(1.0, 3.0)
    np.testing.assert_allclose(p.value(), [1.0, 3.0], rtol=1e-5)


def test_cache_is_tied_to_the_stored_array():
    p = nn.Param(jnp.array([1.0, 2.0]), t=nn.SoftplusT(0.0))
    assert p.cache_stats == {"valid": False, "has_cached_value": False}
    v = p.value()
    assert p.cache_stats["valid"] is False  # value() alone never caches
    cached = p.cache()
    assert p.value() is cached
    np.testing.assert_allclose(cached, v)
    p.val.value = p.val.value + 1.0  # any write (an optimiser's, say) invalidates it
    assert p.cache_stats["valid"] is False
    np.testing.assert_allclose(p.value(), jax.nn.softplus(p.val.value), rtol=1e-6)
    p.cache()
    p.clear_cache()
    assert p.cache_stats == {"valid": False, "has_cached_value": False}


def test_cache_inside_jit_is_not_kept_and_cached_value_is_not_stale_in_jit():
    p = nn.Param(jnp.array([1.0, 2.0]), t=nn.PositiveT())
    p.cache()

    @T.jit
    def step():
        p.val.value = p.val.value + 1.0
        p.cache()  # traced: not kept
        return p.value()

    out = step()
    np.testing.assert_allclose(out, np.exp(np.log([1.0, 2.0]) + 1.0), rtol=1e-5)
    np.testing.assert_allclose(p.value(), out, rtol=1e-6)
    assert not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(p._cache))


def test_param_precompute_caches_within_the_block_only():
    class Cell(nn.Module):
        def __init__(self):
            super().__init__()
            self.tau = nn.Param(jnp.ones(3), t=nn.SoftplusT(0.0))

    cell = Cell()
    with cell.param_precompute():
        assert cell.tau.cache_stats["valid"]
    assert not cell.tau.cache_stats["has_cached_value"]


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: nn.Param(1.0, t=jnp.exp), r"Param got t=.*not a Transform"),
        (lambda: nn.Param(1.0, reg=0.1), r"Param got reg=0.1, which is not a Regularization"),
        (lambda: nn.Param(1.0, precompute=3), r"Param got precompute=3, which is not callable"),
        (lambda: nn.Const(1.0, fit=True), r"Const got fit=True: a Const is never trained"),
        (lambda: nn.Param.init(None, allow_none=False), r"Param.init got None"),
        (lambda: nn.Param.init(lambda s: jnp.ones(s)), r"got the callable .* but no sizes"),
        (lambda: nn.Param.init("x", (2,)), r"cannot make a parameter of str"),
        (lambda: nn.Param.init(jnp.ones(3), (4,)), r"shape \(3,\), which does not broadcast with sizes \(4,\)"),
    ],
)
def test_misuse_raises_config_error(make, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        make()


def test_param_init():
    p = nn.Param(jnp.ones(3))
    assert nn.Param.init(p, (3,)) is p
    assert nn.Param.init(None) is None
    c = nn.Param.init(jnp.zeros((1, 3)), (2, 3))
    assert isinstance(c, nn.Const) and c.value().shape == (1, 3)
    assert nn.Param.init(nn.init.Constant(2.0), 4).value().shape == (4,)


def test_module_collects_param_modules_and_reg_loss():
    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Param(jnp.ones(3), reg=nn.L2Reg(1.0))
            self.b = nn.Const(jnp.zeros(3), reg=nn.L2Reg(1.0))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [Layer(), Layer()]
            self.gain = nn.Param(2.0, t=nn.PositiveT(), reg=nn.L1Reg(0.5))

    net = Net()
    names = [n for n, _ in net.named_param_modules()]
    assert names == ["gain", "layers.0.b", "layers.0.w", "layers.1.b", "layers.1.w"]
    assert [n for n, _ in net.named_param_modules(allowed_hierarchy=(1, 1))] == ["gain"]
    assert all(isinstance(p, nn.Param) for p in net.param_modules())
    np.testing.assert_allclose(net.reg_loss(), 3.0 + 3.0 + 1.0, rtol=1e-6)
    assert nn.Linear(2, 2).reg_loss() == 0.0
    # the trainable states are the unconstrained values (and nothing of a Const)
    assert sorted(".".join(map(str, k)) for k in net.states(bc.ParamState)) == ["gain.val", "layers.0.w.val", "layers.1.w.val"]


def test_training_a_positive_param_by_gradient_descent_stays_positive_and_converges():
    target = jnp.array([0.05, 0.5, 4.0])
    tau = nn.Param(jnp.ones(3), t=nn.SoftplusT(0.0))
    params = tau.states(bc.ParamState)

    def loss():
        return jnp.sum((jnp.log(tau.value()) - jnp.log(target)) ** 2)

    @T.jit
    def step():
        grads, value = T.grad(loss, grad_states=params, return_value=True)()
        for key, g in grads.items():
            params[key].value = params[key].value - 0.2 * g
        return value

    for _ in range(400):
        step()
        assert bool(jnp.all(tau.value() > 0))
    np.testing.assert_allclose(tau.value(), target, rtol=2e-2)


def test_training_with_a_prior_adds_the_reg_loss_gradient():
    p = nn.Param(jnp.array([3.0]), reg=nn.L2Reg(1.0))
    params = p.states(bc.ParamState)
    grads = T.jit(T.grad(lambda: p.reg_loss(), grad_states=params))()
    np.testing.assert_allclose(grads[("val",)], [6.0], rtol=1e-6)


def test_braintools_param_protocol():
    # braintools.init.param: isinstance(x, brainstate.nn.Param), x.value(), then x.set_value(batched value)
    p = nn.Param(jnp.array([1.0, 2.0]), t=nn.SoftplusT(0.0))
    batched = jnp.repeat(p.value()[None], 4, axis=0)
    p.set_value(batched)
    assert p.value().shape == (4, 2) and p.val.value.shape == (4, 2)
    np.testing.assert_allclose(p.value()[3], [1.0, 2.0], rtol=1e-5)
    assert callable(p)
