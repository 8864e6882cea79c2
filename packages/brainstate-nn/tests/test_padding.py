"""Padding layers (channels last) against numpy.pad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

RNG = np.random.default_rng(0)

KINDS = {  # class prefix -> (numpy.pad mode, extra numpy.pad keywords, extra constructor arguments)
    "ReflectionPad": ("reflect", {}, {}),
    "ReplicationPad": ("edge", {}, {}),
    "ZeroPad": ("constant", {"constant_values": 0.0}, {}),
    "ConstantPad": ("constant", {"constant_values": -2.5}, {"value": -2.5}),
    "CircularPad": ("wrap", {}, {}),
}
PADS = {1: (2, 1), 2: (1, 2, 0, 3), 3: (1, 0, 2, 1, 1, 2)}


def np_pad(x, pairs, mode, **kw):
    """numpy.pad of the spatial axes of x (*batch, *spatial, channels)."""
    n = len(pairs)
    return np.pad(x, [(0, 0)] * (x.ndim - n - 1) + list(pairs) + [(0, 0)], mode=mode, **kw)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_matches_numpy_pad(kind, n):
    mode, np_kw, kw = KINDS[kind]
    flat = PADS[n]
    pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(n)]
    layer = getattr(nn, f"{kind}{n}d")(flat, **kw)
    x = RNG.normal(size=(2,) + (4, 5, 3)[:n] + (3,)).astype(np.float32)
    np.testing.assert_array_equal(layer(x), np_pad(x, pairs, mode, **np_kw))
    np.testing.assert_array_equal(layer(x[0]), np_pad(x[0], pairs, mode, **np_kw))  # no batch axis
    many = np.stack([x, 2 * x])  # two batch axes
    np.testing.assert_array_equal(layer(many), np_pad(many, pairs, mode, **np_kw))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_padding_forms_are_equivalent_and_in_axis_order(kind):
    mode, np_kw, kw = KINDS[kind]
    cls = getattr(nn, f"{kind}2d")
    x = RNG.normal(size=(1, 4, 5, 2)).astype(np.float32)
    same = [cls(2, **kw)(x), cls((2, 2), **kw)(x), cls((2, 2, 2, 2), **kw)(x), cls(np.int64(2), **kw)(x)]
    for y in same[1:]:
        np.testing.assert_array_equal(y, same[0])
    # (1, 3) pads the first spatial axis (height) by 1 and the second (width) by 3 on both sides.
    y = cls((1, 3), **kw)(x)
    assert y.shape == (1, 6, 11, 2)
    np.testing.assert_array_equal(y, np_pad(x, [(1, 1), (3, 3)], mode, **np_kw))


@pytest.mark.parametrize("kind", ["ReflectionPad", "CircularPad", "ReplicationPad"])
def test_pads_wider_than_the_input_repeat_as_numpy(kind):
    mode, np_kw, kw = KINDS[kind]
    x = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(getattr(nn, f"{kind}1d")((7, 5))(x), np_pad(x, [(7, 5)], mode))


def test_values_by_hand():
    x = jnp.array([1.0, 2.0, 3.0])[:, None]
    assert nn.ReflectionPad1d(2)(x)[:, 0].tolist() == [3, 2, 1, 2, 3, 2, 1]
    assert nn.ReplicationPad1d(2)(x)[:, 0].tolist() == [1, 1, 1, 2, 3, 3, 3]
    assert nn.CircularPad1d(2)(x)[:, 0].tolist() == [2, 3, 1, 2, 3, 1, 2]
    assert nn.ZeroPad1d((1, 0))(x)[:, 0].tolist() == [0, 1, 2, 3]
    assert nn.ConstantPad1d((0, 2), 9.0)(x)[:, 0].tolist() == [1, 2, 3, 9, 9]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_in_size_sets_out_size(n):
    in_size = (4, 5, 6)[:n] + (3,)
    layer = nn.ConstantPad1d if n == 1 else getattr(nn, f"ReflectionPad{n}d")
    pad = layer(PADS[n], in_size=in_size)
    assert pad.in_size == in_size
    assert pad.out_size == pad(jnp.zeros(in_size)).shape == pad(jnp.zeros((2,) + in_size)).shape[1:]


def test_jit_and_gradient():
    pad = nn.ReflectionPad2d(1)
    x = jnp.asarray(RNG.normal(size=(2, 3, 3, 2)), jnp.float32)
    np.testing.assert_array_equal(T.jit(pad)(x), pad(x))
    g = jax.grad(lambda v: jnp.sum(pad(v)))(x)
    # d sum / d x_i = how often x_i appears in the padded output: count it with numpy.pad of the indices
    ids = np.arange(x.size).reshape(x.shape)
    counts = np.bincount(np_pad(ids, [(1, 1), (1, 1)], "reflect").ravel(), minlength=x.size).reshape(x.shape)
    np.testing.assert_array_equal(g, counts)
    assert counts[0, 1, 1, 0] == 9  # the centre of a 3x3 map is copied to 8 border cells


def test_repr():
    assert repr(nn.ZeroPad2d((1, 2))) == "ZeroPad2d(padding=((1, 1), (2, 2)))"
    want = "ConstantPad1d(padding=((1, 1),), in_size=(4, 2), value=0.5)"
    assert repr(nn.ConstantPad1d(1, 0.5, in_size=(4, 2))) == want


@pytest.mark.parametrize("padding, match", [
    ((1, 2, 3), r"ReflectionPad2d padding needs 1, 2 or 4 ints, got 3: \(1, 2, 3\)\. Fix: pass one int, 2 ints"),
    (-1, r"ReflectionPad2d padding must be >= 0, got -1\. Fix: pass non-negative pad widths"),
    ((1.5, 1), r"ReflectionPad2d padding must be an int or a sequence of ints, got \(1\.5, 1\)"),
    ("same", r"ReflectionPad2d padding must be an int or a sequence of ints, got 'same'"),
    (None, r"ReflectionPad2d padding must be an int or a sequence of ints, got None"),
])
def test_bad_padding(padding, match):
    with pytest.raises(bc.ConfigError, match=match):
        nn.ReflectionPad2d(padding)


def test_bad_in_size_and_input():
    with pytest.raises(bc.ConfigError, match=r"CircularPad3d in_size is the shape of one example, \(\*3 spatial, "
                                             r"channels\); got \(4, 4, 3\)\. Fix: pass 4 sizes, without the batch"):
        nn.CircularPad3d(1, in_size=(4, 4, 3))
    with pytest.raises(bc.ConfigError, match=r"ZeroPad1d in_size must be a positive int or a tuple of positive ints"):
        nn.ZeroPad1d(1, in_size=(0, 3))
    with pytest.raises(bc.InputError, match=r"ZeroPad2d pads 2 spatial axes before a channel axis, got an input of "
                                            r"shape \(4, 3\)\. Fix: pass inputs \(\*batch, \*2 spatial, channels\)"):
        nn.ZeroPad2d(1)(jnp.ones((4, 3)))
