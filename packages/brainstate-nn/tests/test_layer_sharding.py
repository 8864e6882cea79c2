"""Layers declare the layouts of their parameters: the ``sharding=`` keyword.

The declaration is the parameter state's ``sharding`` metadata (what ``brainstate.sharding`` reads),
checked where the layer is built. With 8 devices (``nox -s tests_multidevice``) a model declared by
its layers is built sharded and keeps its layouts through optimiser steps.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

import brainstate
import brainstate_core as bc
import brainstate_nn as nn
from brainstate_core import ShardingError, sharding

MANY = jax.device_count() >= 8

# (constructor, sharding keyword, the declaration the parameter state must carry)
LAYERS = {
    "Linear": (lambda s: nn.Linear(4, 6, sharding=s), {"weight": (None, "model")},
               {"weight": (None, "model"), "bias": None}),
    "Conv2d": (lambda s: nn.Conv2d((5, 5, 2), 4, 3, b_init=nn.init.ZeroInit(), sharding=s),
               {"weight": (None, None, None, "model"), "bias": ("model",)},
               {"weight": (None, None, None, "model"), "bias": ("model",)}),
    "ConvTranspose1d": (lambda s: nn.ConvTranspose1d((5, 2), 4, 3, sharding=s), {"weight": P(None, None, "model")},
                        {"weight": P(None, None, "model")}),
    "ScaledWSConv1d": (lambda s: nn.ScaledWSConv1d((5, 2), 4, 3, sharding=s), {"gain": (None, None, "model")},
                       {"weight": None, "gain": (None, None, "model")}),
    "Embedding": (lambda s: nn.Embedding(10, 4, sharding=s), ("vocab", "embed"), ("vocab", "embed")),
    "LayerNorm": (lambda s: nn.LayerNorm(4, sharding=s), {"scale": ("embed",)}, {"scale": ("embed",), "bias": None}),
    "RMSNorm": (lambda s: nn.RMSNorm(4, sharding=s), {"scale": ("embed",)}, {"scale": ("embed",)}),
    "GroupNorm": (lambda s: nn.GroupNorm(4, num_groups=2, sharding=s), {"bias": ("embed",)},
                  {"scale": None, "bias": ("embed",)}),
    "BatchNorm1d": (lambda s: nn.BatchNorm1d((3, 4), sharding=s), {"scale": ("embed",)},
                    {"scale": ("embed",), "bias": None}),
    "ScaledWSLinear": (lambda s: nn.ScaledWSLinear(4, 6, sharding=s), {"weight": ("embed", None)},
                       {"weight": ("embed", None), "bias": None, "gain": None}),
    "SignedWLinear": (lambda s: nn.SignedWLinear(4, 6, sharding=s), (None, "model"), (None, "model")),
    "SparseLinear": (lambda s: nn.SparseLinear(jnp.eye(3), sharding=s), {"weight": ("nnz",)}, {"weight": ("nnz",)}),
    "LoRA": (lambda s: nn.LoRA(4, 2, 6, sharding=s), {"lora_b": (None, "model")},
             {"lora_a": None, "lora_b": (None, "model")}),
    "OneToOne": (lambda s: nn.OneToOne(4, sharding=s), {"weight": ("embed",)}, {"weight": ("embed",)}),
    "AllToAll": (lambda s: nn.AllToAll(4, 6, b_init=nn.init.ZeroInit(), sharding=s), {"bias": ("model",)},
                 {"weight": None, "bias": ("model",)}),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_keyword_becomes_the_parameter_declaration(name):
    make, keyword, stored = LAYERS[name]
    layer = make(keyword)
    assert sharding.declared(layer.weight) == stored
    # without the keyword nothing is declared, and the layer computes the same either way
    plain = make(None)
    assert sharding.declared(plain.weight) is None and "sharding" not in plain.weight.metadata
    specs = sharding.get_partition_specs(layer)
    assert all(isinstance(p, P) for p in jax.tree.leaves(specs, is_leaf=lambda x: isinstance(x, P)))


@pytest.mark.parametrize("name", sorted(n for n in LAYERS if isinstance(LAYERS[n][1], dict)))
def test_unknown_parameter_name_is_refused(name):
    make = LAYERS[name][0]
    with pytest.raises(ShardingError, match=rf"{name.rstrip('123d') if name.startswith('Conv') else name}.*"
                                            r"names \['kernel'\], which are not its parameters \(\[.*\]\)"):
        make({"kernel": (None,)})


@pytest.mark.parametrize("name", ["Linear", "Conv2d", "LayerNorm", "LoRA"])
def test_a_single_spec_for_several_parameters_is_refused(name):
    with pytest.raises(ShardingError, match=r"its parameters are \[.*\], so give a dict from parameter name to spec"):
        LAYERS[name][0]((None, "model"))


def test_a_dict_for_a_single_array_is_refused():
    with pytest.raises(ShardingError, match=r"Embedding sharding=.*one parameter array, so give one spec"):
        nn.Embedding(10, 4, sharding={"weight": ("vocab", None)})


@pytest.mark.parametrize("spec, pattern", [
    ({"bias": ("model", None)}, r"Linear: .*declared sharding=\('model', None\) \(2 axes\) but its value has shape \(6,\)"),
    ({"weight": "model"}, r"Linear: .*sharding='model', which is not a partition spec"),
])
def test_bad_specs_fail_where_the_layer_is_built(spec, pattern):
    with pytest.raises(ShardingError, match=pattern):
        nn.Linear(4, 6, sharding=spec)


def test_norm_without_parameters_refuses_a_sharding():
    with pytest.raises(bc.ConfigError, match=r"LayerNorm has no scale and no bias.*Fix: drop sharding="):
        nn.LayerNorm(4, use_scale=False, use_bias=False, sharding={"scale": ("embed",)})


def test_declare_checks_the_form_too():
    model = nn.Linear(4, 6)
    with pytest.raises(ShardingError, match=r"at path weight.*\(3 axes\) but its value has shape \(4, 6\)"):
        sharding.declare(model, {("weight",): {"weight": (None, None, "x"), "bias": None}})


@pytest.mark.skipif(not MANY, reason="needs 8 devices (nox -s tests_multidevice)")
@pytest.mark.parametrize("axis_type", [AxisType.Auto, AxisType.Explicit], ids=["auto", "explicit"])
def test_layer_declared_model_is_built_sharded_and_keeps_its_layouts(axis_type):
    mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(axis_type,) * 2)

    def build():
        return nn.Sequential(nn.Linear(8, 16, sharding={"weight": ("embed", "mlp"), "bias": ("mlp",)}), nn.ReLU(),
                             nn.Linear(16, 4, sharding={"weight": ("mlp", None)}))

    with sharding.use_mesh(mesh), sharding.axis_rules({"embed": None, "mlp": "model"}):
        model = sharding.init_sharded(build)
        first = model.layers[0].weight.value
        assert first["weight"].sharding.spec == P(None, "model") and first["bias"].sharding.spec == P("model")
        assert len({d for s in first["weight"].addressable_shards for d in [s.data.shape]}) == 1
        assert first["weight"].addressable_shards[0].data.shape == (8, 4)
        if axis_type == AxisType.Explicit:
            return  # a row-parallel matmul needs an out_sharding there (JAX's rule); training is shown on Auto
        opt = nn.optim.Adam(1e-2, params=model.states(bc.ParamState))
        x = jax.device_put(jnp.ones((8, 8)), jax.NamedSharding(mesh, P("data")))

        @brainstate.transform.jit
        def step():
            grads = brainstate.transform.grad(lambda: jnp.sum(model(x) ** 2), opt.param_states)()
            opt.update(grads)

        before = np.asarray(first["weight"])
        step()
        step()
        for s in model.states(bc.ParamState).values():
            for a, want in zip(jax.tree.leaves(s.value), jax.tree.leaves(sharding.named_sharding(s))):
                assert a.sharding.is_equivalent_to(want, a.ndim)
        assert not np.allclose(before, np.asarray(model.layers[0].weight.value["weight"]))
