"""Channel dropout, alpha dropout and fixed-mask dropout: statistics of large draws, eval mode, errors."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T

ALPHA = -1.7580993408473766  # SELU's saturation value


def fit(flag=True):
    return bc.environ.context(fit=flag)


def assert_values(y, prob):
    """Every entry of y is 0 or 1 / prob (in float32), and both occur."""
    values = np.unique(y)
    assert len(values) == 2 and values[0] == 0.0, values
    np.testing.assert_allclose(values[1], 1 / prob, rtol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("prob", [0.3, 0.8])
def test_channel_dropout_zeroes_whole_channels_at_the_expected_rate(n, prob):
    layer = getattr(nn, f"Dropout{n}d")(prob)
    shape = (400,) + (3,) * n + (25,)  # 10 000 (example, channel) draws
    with fit():
        y = np.asarray(layer(jnp.ones(shape)))
    spatial = tuple(range(1, n + 1))
    assert_values(y, prob)
    assert ((y == y[(slice(None),) + (slice(0, 1),) * n]).all())  # constant over the spatial axes
    zero_channels = (y == 0).all(axis=spatial).mean()
    assert abs(zero_channels - (1 - prob)) < 0.025
    assert abs(y.mean() - 1.0) < 0.05  # 1 / prob scaling keeps the mean


@pytest.mark.parametrize("n", [1, 2, 3])
def test_channel_dropout_eval_is_identity_and_unbatched_input(n):
    layer = getattr(nn, f"Dropout{n}d")(0.5)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2,) + (3,) * n + (4,)), jnp.float32)
    with fit(False):
        np.testing.assert_array_equal(layer(x), x)
    with fit():
        one = np.asarray(layer(jnp.ones((5,) * n + (200,))))  # no batch axis: one draw per channel
    assert (one == one[(slice(0, 1),) * n]).all()
    with fit():
        assert np.array_equal(getattr(nn, f"Dropout{n}d")(1.0)(x), x)


def test_channel_dropout_other_channel_axis_and_rng():
    layer = nn.Dropout1d(0.5, channel_axis=1, rng=R.RandomState(3))  # (batch, channels, length): PyTorch layout
    with fit():
        y = np.asarray(layer(jnp.ones((50, 40, 6))))
    assert (y == y[:, :, :1]).all() and not (y == y[:, :1, :]).all()
    again = nn.Dropout1d(0.5, channel_axis=1, rng=R.RandomState(3))
    with fit():
        np.testing.assert_array_equal(again(jnp.ones((50, 40, 6))), y)
    assert repr(layer).splitlines()[0] == "Dropout1d(prob=0.5, channel_axis=1)"
    assert "rng: RandomState" in repr(layer)


def test_channel_dropout_gradient_is_masked_by_channel(param_grads):
    lin = nn.Linear(3, 8)
    drop = nn.Dropout2d(0.5)
    x = jnp.ones((1, 4, 4, 3))

    def loss():
        with fit():
            return jnp.sum(drop(lin(x)))

    g = np.asarray(param_grads(lin, loss)[("weight",)]["bias"])
    assert set(np.unique(g)) <= {0.0, 32.0} and len(set(np.unique(g))) == 2  # 16 pixels * 1 / 0.5, or nothing


def test_alpha_dropout_keeps_mean_and_variance_of_a_standard_normal():
    x = R.RandomState(1).randn(400_000)
    for prob in (0.5, 0.9):
        layer = nn.AlphaDropout(prob)
        with fit():
            y = np.asarray(layer(x))
        assert abs(y.mean()) < 0.01 and abs(y.std() - 1.0) < 0.01, prob
        q = 1 - prob
        a = (prob * (1 + q * ALPHA ** 2)) ** -0.5
        b = -a * q * ALPHA
        dropped = np.isclose(y, a * ALPHA + b, rtol=0, atol=1e-6)
        assert abs(dropped.mean() - q) < 0.005
        np.testing.assert_allclose(y[~dropped], a * np.asarray(x)[~dropped] + b, rtol=1e-5, atol=1e-6)


def test_alpha_dropout_eval_identity_and_integer_input():
    x = jnp.arange(6.0)
    with fit(False):
        np.testing.assert_array_equal(nn.AlphaDropout(0.5)(x), x)
    with fit():
        np.testing.assert_array_equal(nn.AlphaDropout(1.0)(x), x)
        y = nn.AlphaDropout(0.5)(jnp.arange(6))
    assert y.dtype == jnp.float32
    assert repr(nn.AlphaDropout(0.7)) == "AlphaDropout(prob=0.7)"


def test_feature_alpha_dropout_drops_channels_and_keeps_statistics():
    x = R.RandomState(2).randn(800, 5, 100)
    layer = nn.FeatureAlphaDropout(0.6)
    with fit():
        y = np.asarray(layer(x))
    q = 0.4
    a = (0.6 * (1 + q * ALPHA ** 2)) ** -0.5
    dropped = np.isclose(y, a * ALPHA - a * q * ALPHA, rtol=0, atol=1e-6)
    assert (dropped == dropped[:, :1]).all()  # one draw per (example, channel), shared along axis 1
    assert abs(dropped[:, 0].mean() - q) < 0.01
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    with fit():
        z = np.asarray(nn.FeatureAlphaDropout(0.6, channel_axis=1)(x))
    dz = np.isclose(z, a * ALPHA - a * q * ALPHA, rtol=0, atol=1e-6)
    assert (dz == dz[:, :, :1]).all() and 0 < dz.mean() < 1  # now shared along the last axis
    with fit(False):
        np.testing.assert_array_equal(layer(x), x)


def test_dropout_fixed_reuses_one_mask_until_reset():
    drop = nn.init_all_states(nn.DropoutFixed((20, 50), prob=0.75), 8)
    assert drop.mask.value.shape == (8, 20, 50) and isinstance(drop.mask, bc.ShortTermState)
    x = jnp.ones((8, 20, 50))
    step = T.jit(lambda v: drop(v))
    with fit():
        ys = [np.asarray(step(x)) for _ in range(3)]
    assert all(np.array_equal(ys[0], y) for y in ys[1:])
    assert_values(ys[0], 0.75)
    assert abs((ys[0] == 0).mean() - 0.25) < 0.02
    nn.reset_all_states(drop, 8)
    with fit():
        assert not np.array_equal(np.asarray(step(x)), ys[0])
        with bc.environ.context(fit=False):
            np.testing.assert_array_equal(drop(x), x)
    single = nn.init_all_states(nn.DropoutFixed(30, prob=0.5))
    assert single.mask.value.shape == (30,) and single.in_size == single.out_size == (30,)
    assert repr(single).splitlines() == ["DropoutFixed(in_size=(30,), prob=0.5)", "  mask: ShortTermState(bool[30])"]


def test_dropout_fixed_errors():
    with fit(), pytest.raises(bc.StateUsageError, match=r"DropoutFixed has no mask yet\. Fix: call "
                                                        r"init_all_states\(model\[, batch_size\]\)"):
        nn.DropoutFixed(4)(jnp.ones(4))
    drop = nn.init_all_states(nn.DropoutFixed(4), 2)
    with fit(), pytest.raises(bc.InputError, match=r"DropoutFixed mask has shape \(2, 4\) but the input has shape "
                                                   r"\(3, 4\)\. Fix: call init_all_states with the batch size"):
        drop(jnp.ones((3, 4)))
    with pytest.raises(bc.ConfigError, match=r"DropoutFixed in_size must be a positive int"):
        nn.DropoutFixed(0)


@pytest.mark.parametrize("make", [lambda: nn.Dropout1d(), lambda: nn.Dropout2d(), lambda: nn.Dropout3d(),
                                  lambda: nn.AlphaDropout(), lambda: nn.FeatureAlphaDropout(),
                                  lambda: nn.init_all_states(nn.DropoutFixed((4, 4, 4, 4)))])
def test_missing_fit_raises(make):
    with pytest.raises(bc.EnvironKeyError, match=r"'fit'.*whether the model is being trained"):
        make()(jnp.ones((4, 4, 4, 4)))


@pytest.mark.parametrize("cls", [nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout])
@pytest.mark.parametrize("prob", [0.0, 1.5, -0.1])
def test_bad_prob(cls, prob):
    with pytest.raises(bc.ConfigError, match=rf"{cls.__name__} prob is the probability to keep an element and must "
                                             r"be in \(0, 1\], got .*Fix: pass 1 - \(drop rate\)"):
        cls(prob)
    with pytest.raises(bc.ConfigError, match=r"DropoutFixed prob is the probability to keep"):
        nn.DropoutFixed(3, prob)


def test_bad_inputs():
    with fit(), pytest.raises(bc.InputError, match=r"Dropout2d drops channels of inputs \(\*batch, \*2 spatial, "
                                                   r"channels\) with the channel axis -1, got an input of shape "
                                                   r"\(4, 3\)\. Fix: pass inputs with 2 spatial axes"):
        nn.Dropout2d()(jnp.ones((4, 3)))
    with fit(), pytest.raises(bc.InputError, match=r"Dropout1d .* with the channel axis 5, got an input of shape"):
        nn.Dropout1d(channel_axis=5)(jnp.ones((2, 4, 3)))
    with fit(), pytest.raises(bc.InputError, match=r"FeatureAlphaDropout needs inputs \(batch, \*features, channels\) "
                                                   r"with the channel axis 0 other than the batch axis 0"):
        nn.FeatureAlphaDropout(channel_axis=0)(jnp.ones((4, 3)))
    with fit(), pytest.raises(bc.InputError, match=r"FeatureAlphaDropout needs .* got an input of shape \(4,\)"):
        nn.FeatureAlphaDropout()(jnp.ones(4))
