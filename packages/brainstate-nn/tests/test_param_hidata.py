"""brainstate.nn.HiData: a named, read-only, nested mapping that is a JAX pytree."""

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T


def _data():
    return nn.HiData(name="cell", v=jnp.zeros(3), syn=nn.HiData(g=jnp.ones(3), e=0.0))


def test_access_styles_and_mapping_protocol():
    d = _data()
    assert d.v is d["v"] and "syn" in d and list(d) == ["v", "syn"] and len(d) == 2
    assert d.syn.e == 0.0 and d.state_size == 3
    with pytest.raises(AttributeError, match=r"HiData 'cell' has no child 'w'; it has \['v', 'syn'\]"):
        _ = d.w
    with pytest.raises(AttributeError, match=r"HiData is immutable; use .replace\(v=...\)"):
        d.v = 1.0


@pytest.mark.parametrize(
    ("change", "keys"),
    [
        (lambda d: d.replace(v=1.0), ["v", "syn"]),
        (lambda d: d.add({"w": 1.0}, u=2.0), ["v", "syn", "w", "u"]),
        (lambda d: d.pop("v"), ["syn"]),
        (lambda d: d.clone(), ["v", "syn"]),
        (lambda d: nn.HiData.from_dict(d.to_dict(), name="cell"), ["v", "syn"]),
    ],
)
def test_copies_leave_the_original_alone(change, keys):
    d = _data()
    new = change(d)
    assert list(new) == keys and new.name == "cell" and list(d) == ["v", "syn"]


def test_is_a_pytree_through_jit_and_vmap():
    d = _data()
    out = T.jit(lambda x: jax.tree.map(lambda a: a + 1, x))(d)
    assert isinstance(out, nn.HiData) and out.name == "cell"
    np.testing.assert_allclose(out.syn.g, 2.0)
    batched = jax.vmap(lambda x: x)(jax.tree.map(lambda a: jnp.stack([a, a]), d))
    assert batched.v.shape == (2, 3)
    assert [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(d)] == ["['v']", "['syn']['g']", "['syn']['e']"]


def test_deepcopy_and_graph_search():
    d = nn.HiData(w=bc.ParamState(jnp.ones(2)))
    c = copy.deepcopy(d)
    assert isinstance(c, nn.HiData) and c.w is not d.w
    assert list(bc.graph.states(d)) == [("children", "w")]


def test_repr_is_short():
    assert repr(_data()) == "HiData(name='cell', v=f32[3], syn=HiData(name=None, g=f32[3], e=0.0))"
