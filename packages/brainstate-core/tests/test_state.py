"""The State hierarchy: values, reprs, identity, helpers, refusal to be a pytree, tracer safety."""

import pickle
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc

HIERARCHY = [
    (bc.State, ()),
    (bc.ShortTermState, (bc.State,)),
    (bc.LongTermState, (bc.State,)),
    (bc.ParamState, (bc.LongTermState, bc.State)),
    (bc.HiddenState, (bc.ShortTermState, bc.State)),
    (bc.BatchState, (bc.LongTermState, bc.State)),
]


@pytest.mark.parametrize("cls,bases", HIERARCHY)
def test_hierarchy_and_value_roundtrip(cls, bases):
    s = cls(jnp.ones(3))
    for base in bases:
        assert isinstance(s, base)
    s.value = jnp.zeros(3)
    np.testing.assert_array_equal(s.value, jnp.zeros(3))


@pytest.mark.parametrize(
    "value,text",
    [
        (jnp.ones((3, 2)), "ParamState(f32[3,2])"),
        (jnp.ones((), jnp.int32), "ParamState(i32[])"),
        ({"weight": jnp.ones((2, 3)), "bias": jnp.zeros(3)}, "ParamState({'weight': f32[2,3], 'bias': f32[3]})"),
        ([jnp.ones(2, jnp.bool_), 1.0], "ParamState([bool[2], 1.0])"),
        (jnp.ones(2, jnp.bfloat16), "ParamState(bf16[2])"),
    ],
)
def test_compact_repr(value, text):
    assert repr(bc.ParamState(value)) == text


def test_repr_shows_name_and_tag():
    s = bc.HiddenState(jnp.zeros(4), name="v", tag="neuron")
    assert repr(s) == "HiddenState(f32[4], name='v', tag='neuron')"
    assert s.name == "v" and s.tag == "neuron" and s.metadata == {"tag": "neuron"}
    s.tag = "other"
    assert s.tag == "other"


def test_metadata_and_creation_site():
    s = bc.State(1.0, unit="mV")
    assert s.metadata["unit"] == "mV"
    assert s.source_info.endswith(f"test_state.py:{test_metadata_and_creation_site.__code__.co_firstlineno + 1}")


def test_identity_equality_and_hashing():
    a, b = bc.State(jnp.ones(2)), bc.State(jnp.ones(2))
    assert a == a and a != b
    assert len({a, b, a}) == 2
    assert {a: 1}[a] == 1


def test_helpers_value_call_numel_copy_restore():
    s = bc.ParamState({"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}, name="lin", tag="p")
    assert s.numel() == 9
    assert s.value_call(lambda x: x.shape) == {"w": (2, 3), "b": (3,)}
    c = s.copy()
    assert type(c) is bc.ParamState and c is not s and c.name == "lin" and c.tag == "p"
    c.value = {"w": jnp.zeros((2, 3)), "b": jnp.zeros(3)}
    assert float(s.value["w"].sum()) == 6.0
    c.metadata["tag"] = "changed"
    assert s.tag == "p"
    s.restore_value({"w": jnp.zeros((2, 3)), "b": jnp.ones(3)})
    assert float(s.value["b"].sum()) == 3.0


def test_a_state_cannot_hold_a_state():
    s = bc.State(1.0)
    with pytest.raises(bc.StateArgumentError, match=r"cannot hold another State.*other.value"):
        bc.State(s)
    with pytest.raises(bc.StateArgumentError, match=r"Cannot assign the State .* Assign `other.value`"):
        s.value = bc.State(2.0)


@pytest.mark.parametrize(
    "use",
    [
        lambda s: jax.jit(lambda x: x)(s),
        lambda s: jax.grad(lambda x: x)(s),
        lambda s: jax.vmap(lambda x: x)(s),
        lambda s: jax.jit(lambda: s)(),
        lambda s: jax.tree.leaves({"a": s}),
        lambda s: jnp.ones(3) + s,
    ],
    ids=["jit-arg", "grad-arg", "vmap-arg", "jit-return", "tree-leaves", "arithmetic"],
)
def test_state_is_not_a_pytree_and_says_how_to_fix(use):
    s = bc.ParamState(jnp.ones(3))
    with pytest.raises(bc.StateArgumentError, match=r"ParamState\(f32\[3\]\) \(created at .*test_state.py:\d+\).*Fix: use `state.value`"):
        use(s)


def test_subclasses_defined_elsewhere_refuse_flattening_too():
    class MyState(bc.HiddenState):
        pass

    with pytest.raises(bc.StateArgumentError):
        jax.tree.leaves([MyState(1.0)])
    assert jax.tree.leaves([MyState(1.0)], is_leaf=lambda x: isinstance(x, bc.State))


def test_tracer_written_outside_any_transformation_is_refused():
    s = bc.State(jnp.zeros(()))

    def f(x):
        s.value = x * 2
        return x

    with pytest.raises(bc.TraceContextError, match=r"tracer was written into State \(created at .*\) outside any brainstate transformation.*brainstate.transform.jit"):
        jax.jit(f)(1.0)
    assert float(s.value) == 0.0
    if jax.config.values.get("jax_check_tracer_leaks"):
        return  # leaking a tracer on purpose (below) is itself an error under JAX's leak checker
    leaked: list = []
    jax.jit(lambda x: leaked.append(x) or x)(1.0)
    with pytest.raises(bc.TraceContextError, match="outside any brainstate transformation"):
        bc.State(leaked[0])  # a tracer of a finished trace, at JAX's top level


def test_errors_share_one_base_class_and_show_public_module():
    names = [n for n in dir(bc) if n.endswith("Error") or n == "JitErrorIf"]
    assert len(names) >= 8
    for name in names:
        cls = getattr(bc, name)
        assert issubclass(cls, bc.BrainStateError)
        # its public home: brainstate_core, or brainstate once the meta-package is imported
        assert cls.__module__ in ("brainstate_core", "brainstate")
        assert getattr(sys.modules[cls.__module__], name) is cls
        assert pickle.loads(pickle.dumps(cls("x"))).args == ("x",)
    assert issubclass(bc.EnvironKeyError, KeyError)
    assert issubclass(bc.StateShapeError, ValueError)
