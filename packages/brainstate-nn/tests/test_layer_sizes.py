"""Every layer takes ``in_size`` and computes ``out_size``; ``Cls.desc(...)`` and ``Sequential`` build on them;
activations and dropouts are ``ElementWiseBlock`` s."""

import inspect

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
from brainstate_core.mixin import ParamDescriber

RNG = np.random.default_rng(0)

ACTIVATIONS = [nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Softplus,
               nn.Softsign, nn.Sigmoid, nn.LogSigmoid, nn.Tanh, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish,
               nn.Hardshrink, nn.Softshrink, nn.Tanhshrink, nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.Threshold,
               nn.Identity, nn.RReLU, nn.PReLU]
DROPOUTS = [nn.Dropout, nn.AlphaDropout]

# name -> (build(in_size), in_size of one example, batched only)
LAYERS = {cls.__name__: (lambda s, c=cls: c(in_size=s), (3, 4), False) for cls in ACTIVATIONS + DROPOUTS}
LAYERS.update({
    "GLU": (lambda s: nn.GLU(in_size=s), (3, 4), False),
    "Softmax2d": (lambda s: nn.Softmax2d(in_size=s), (4, 4, 3), False),
    "Dropout1d": (lambda s: nn.Dropout1d(0.5, in_size=s), (5, 3), False),
    "Dropout2d": (lambda s: nn.Dropout2d(0.5, in_size=s), (4, 4, 3), False),
    "Dropout3d": (lambda s: nn.Dropout3d(0.5, in_size=s), (2, 2, 2, 3), False),
    "FeatureAlphaDropout": (lambda s: nn.FeatureAlphaDropout(0.5, in_size=s), (5, 3), False),
    "DropoutFixed": (lambda s: nn.DropoutFixed(s, 0.5), (3, 4), False),
    "Flatten": (lambda s: nn.Flatten(in_size=s), (3, 4), False),
    "Unflatten": (lambda s: nn.Unflatten(-1, (2, 2), in_size=s), (3, 4), False),
    "Linear": (lambda s: nn.Linear(s, (5, 2)), (5, 4), False),
    "ScaledWSLinear": (lambda s: nn.ScaledWSLinear(s, 2), (4,), False),
    "SignedWLinear": (lambda s: nn.SignedWLinear(s, 2), (4,), False),
    "SparseLinear": (lambda s: nn.SparseLinear(jnp.eye(4, 3), in_size=s), (4,), False),
    "LoRA": (lambda s: nn.LoRA(4, 2, 3, in_size=s), (4,), False),
    "OneToOne": (lambda s: nn.OneToOne(s), (3, 4), False),
    "AllToAll": (lambda s: nn.AllToAll(s, (3, 2)), (3, 4), False),
    "Embedding": (lambda s: nn.Embedding(10, 3, in_size=s), (5,), False),
    "LayerNorm": (lambda s: nn.LayerNorm(s), (5, 4), False),
    "RMSNorm": (lambda s: nn.RMSNorm(s), (5, 4), False),
    "GroupNorm": (lambda s: nn.GroupNorm(s, num_groups=2), (5, 4), False),
    "BatchNorm0d": (lambda s: nn.BatchNorm0d(s), (4,), True),
    "BatchNorm1d": (lambda s: nn.BatchNorm1d(s), (5, 4), True),
    "BatchNorm2d": (lambda s: nn.BatchNorm2d(s), (3, 3, 4), True),
    "BatchNorm3d": (lambda s: nn.BatchNorm3d(s), (2, 2, 2, 4), True),
})
for n, size in ((1, (8, 3)), (2, (6, 6, 3)), (3, (4, 4, 4, 3))):
    LAYERS.update({
        f"MaxPool{n}d": (lambda s, n=n: getattr(nn, f"MaxPool{n}d")(2, in_size=s), size, False),
        f"AvgPool{n}d": (lambda s, n=n: getattr(nn, f"AvgPool{n}d")(2, in_size=s), size, False),
        f"LPPool{n}d": (lambda s, n=n: getattr(nn, f"LPPool{n}d")(2, 2, in_size=s), size, False),
        f"MaxUnpool{n}d": (lambda s, n=n: getattr(nn, f"MaxUnpool{n}d")(2, in_size=s), size, False),
        f"AdaptiveAvgPool{n}d": (lambda s, n=n: getattr(nn, f"AdaptiveAvgPool{n}d")(2, in_size=s), size, False),
        f"AdaptiveMaxPool{n}d": (lambda s, n=n: getattr(nn, f"AdaptiveMaxPool{n}d")(2, in_size=s), size, False),
        f"ReflectionPad{n}d": (lambda s, n=n: getattr(nn, f"ReflectionPad{n}d")(1, in_size=s), size, False),
        f"ReplicationPad{n}d": (lambda s, n=n: getattr(nn, f"ReplicationPad{n}d")(1, in_size=s), size, False),
        f"CircularPad{n}d": (lambda s, n=n: getattr(nn, f"CircularPad{n}d")(1, in_size=s), size, False),
        f"ZeroPad{n}d": (lambda s, n=n: getattr(nn, f"ZeroPad{n}d")(1, in_size=s), size, False),
        f"ConstantPad{n}d": (lambda s, n=n: getattr(nn, f"ConstantPad{n}d")(1, 2.0, in_size=s), size, False),
        f"Conv{n}d": (lambda s, n=n: getattr(nn, f"Conv{n}d")(s, 2, 3), size, False),
        f"ConvTranspose{n}d": (lambda s, n=n: getattr(nn, f"ConvTranspose{n}d")(s, 2, 2, stride=2), size, False),
        f"ScaledWSConv{n}d": (lambda s, n=n: getattr(nn, f"ScaledWSConv{n}d")(s, 2, 3), size, False),
    })
LAYERS.update({
    "Conv": (lambda s: nn.Conv(s, 2, 3, stride=2), (6, 6, 3), False),
    "ConvTranspose": (lambda s: nn.ConvTranspose(s, 2, 3), (6, 3), False),
    "ScaledWSConv": (lambda s: nn.ScaledWSConv(s, 2, 3), (6, 3), False),
})

# The files of the feed-forward layers: every public Module class they define must be in LAYERS.
LAYER_FILES = ("_activation_modules", "_dropout", "_pooling", "_padding", "_conv", "_normalization", "_linear",
               "_linear_variants", "_embedding", "_shape")


def _public_layer_classes():
    out = set()
    for name in dir(nn):
        obj = getattr(nn, name)
        if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__name__ == name:
            if inspect.getfile(obj).rsplit("/", 1)[-1][:-3] in LAYER_FILES:
                out.add(name)
    return out


def test_the_table_covers_every_layer_class():
    missing = _public_layer_classes() - set(LAYERS)
    assert not missing, f"add these layers to LAYERS: {sorted(missing)}"


def _example(name, size):
    if name == "Embedding":
        return jnp.asarray(RNG.integers(0, 10, size=size))
    return jnp.asarray(RNG.normal(size=size).astype(np.float32))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_in_size_is_accepted_and_out_size_is_the_output_shape(name):
    build, size, batched_only = LAYERS[name]
    layer = build(size)
    assert layer.in_size == size
    nn.init_all_states(layer, 2) if name == "DropoutFixed" else None
    x = _example(name, (2,) + size)
    with bc.environ.context(fit=True):
        if name.startswith("MaxUnpool"):
            y = layer(x[0], jnp.zeros(x.shape[1:], jnp.int32))
        else:
            y = layer(x) if batched_only or name == "DropoutFixed" else layer(x[0])
    shape = y.shape[1:] if batched_only or name == "DropoutFixed" else y.shape
    assert layer.out_size == shape, f"{name}: out_size {layer.out_size}, output {shape}"


@pytest.mark.parametrize("cls", ACTIVATIONS + DROPOUTS + [nn.GLU, nn.Softmax2d, nn.Dropout1d, nn.Dropout2d,
                                                         nn.Dropout3d, nn.FeatureAlphaDropout, nn.DropoutFixed])
def test_activations_and_dropouts_are_element_wise_blocks(cls):
    assert issubclass(cls, nn.ElementWiseBlock) and issubclass(nn.ElementWiseBlock, nn.Module)
    assert "in_size" in inspect.signature(cls).parameters


def test_without_in_size_the_sizes_are_unknown():
    assert nn.ReLU().in_size is None and nn.ReLU().out_size is None and nn.MaxPool2d(2).out_size is None
    assert nn.Module().in_size is None


def test_desc_records_arguments_and_merges_call_arguments():
    d = nn.Linear.desc(out_size=4, b_init=None)
    assert isinstance(d, ParamDescriber) and isinstance(d, ParamDescriber[nn.Linear])
    layer = d(3)
    assert isinstance(layer, nn.Linear) and layer.in_size == (3,) and set(layer.weight.value) == {"weight"}
    assert d(3, b_init=nn.init.ZeroInit()).weight.value["bias"].shape == (4,)  # call keywords override
    assert d.identifier == nn.Linear.desc(out_size=4, b_init=None).identifier != nn.Linear.desc(out_size=5).identifier
    assert repr(nn.Dropout.desc(0.5)) == "ParamDescriber(Dropout(0.5))"


def test_sequential_builds_descriptions_from_the_previous_out_size():
    net = nn.Sequential(nn.Conv2d((8, 8, 3), 4, 3), nn.ReLU(), nn.MaxPool2d.desc(2), nn.Flatten.desc(),
                        nn.Linear.desc(out_size=10), nn.Dropout.desc(0.5), jnp.tanh, nn.Linear.desc(out_size=2))
    assert [type(layer).__name__ for layer in net.layers[2:6]] == ["MaxPool2d", "Flatten", "Linear", "Dropout"]
    assert net[4].in_size == (64,) and net.in_size == (8, 8, 3) and net.out_size == (2,)
    with bc.environ.context(fit=False):
        assert net(jnp.ones((5, 8, 8, 3))).shape == (5, 2)
    net.append(nn.Linear.desc(out_size=7))
    assert net.out_size == (7,) and net[-1].in_size == (2,)
    assert nn.Sequential().layers == [] and nn.Sequential(first=nn.ReLU()).out_size is None


def test_a_description_after_a_layer_of_unknown_size_is_an_error():
    with pytest.raises(bc.ConfigError, match=r"Sequential layer 1 is the description ParamDescriber\(Linear\(out_size=2\)\)"):
        nn.Sequential(nn.ReLU(), nn.Linear.desc(out_size=2))
    with pytest.raises(TypeError, match=r"Sequential layer 1 is 3, which is not callable"):
        nn.Sequential(nn.ReLU(), 3)
