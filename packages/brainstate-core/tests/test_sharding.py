"""brainstate.sharding: declarations on states, rules, placement, abstract states, sharded construction.

Runs on any number of devices: with 8 (``nox -s tests_multidevice``) the mesh is (4, 2), with one it is
(1, 1); the tests that need several devices to tell layouts apart are marked.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import brainstate_core as bc
from brainstate_core import ShardingError, sharding

MANY = jax.device_count() >= 8
many_devices = pytest.mark.skipif(not MANY, reason="needs 8 devices (nox -s tests_multidevice)")


@pytest.fixture(params=[AxisType.Auto, AxisType.Explicit], ids=["auto", "explicit"])
def mesh(request):
    shape = (4, 2) if MANY else (1, 1)
    return jax.make_mesh(shape, ("data", "model"), axis_types=(request.param,) * 2)


class Net(bc.graph.Node):
    def __init__(self, key=0):
        super().__init__()
        k1, k2 = jax.random.split(jax.random.PRNGKey(key))
        self.w = bc.ParamState(jax.random.normal(k1, (8, 4)), sharding=("embed", "model"))
        self.tree = bc.ParamState({"a": jnp.zeros(8), "b": jax.random.normal(k2, (2, 4))},
                                  sharding={"a": ("data",), "b": (None, "model")})
        self.plain = bc.State(jnp.zeros(3))


RULES = {"embed": "data"}


def test_declaration_needs_no_mesh_and_resolves_without_one():
    net = Net()
    with sharding.axis_rules(RULES):
        specs = sharding.get_partition_specs(net)
    assert specs[("w",)] == P("data", "model")
    assert specs[("tree",)] == {"a": P("data"), "b": P(None, "model")}
    assert specs[("plain",)] == P()
    assert sharding.declared(net.plain) is None
    # without rules an unknown logical name is kept as it is when there is no mesh to check against
    assert sharding.partition_spec(net.w) == P("embed", "model")


@pytest.mark.parametrize("rules, expected", [
    ({"embed": "data"}, P("data", "model")),
    ({"embed": ("data", "model")}, P(("data", "model"), "model")),
    ({"embed": None}, P(None, "model")),
    ([("embed", "data")], P("data", "model")),
])
def test_rules_map_logical_names(rules, expected, mesh):
    w = bc.State(jnp.zeros((8, 4)), sharding=("embed", "model"))
    with sharding.axis_rules(rules):
        assert sharding.partition_spec(w, mesh=mesh) == expected


def test_rules_are_an_environ_value():
    with sharding.axis_rules({"embed": "data"}):
        assert bc.environ.get(sharding.RULES_KEY) == (("embed", "data"),)
        assert sharding.get_axis_rules() == {"embed": "data"}
    assert sharding.get_axis_rules() == {}


@pytest.mark.parametrize("bad", [{"embed": 3}, [("embed",)], ["embed"]])
def test_bad_rules_raise(bad):
    with pytest.raises(ShardingError, match="axis_rules"):
        sharding.axis_rules(bad)


@pytest.mark.parametrize("decl, pattern", [
    (("nope", None), r"sharding axis 'nope', which is not a mesh axis .*Fix: map it"),
    (("data", None, None), r"3 axes\) but its value has shape \(8, 4\)"),
    ({"x": ("data",)}, r"not a pytree prefix"),
    ("data", r"sharding='data', which is not a partition spec"),
])
def test_bad_declarations_name_the_state(decl, pattern, mesh):
    s = bc.State(jnp.zeros((8, 4)), sharding=decl)
    with pytest.raises(ShardingError, match=pattern) as info:
        sharding.partition_spec(s, mesh=mesh)
    assert "test_sharding.py" in str(info.value)  # where the state was made


def test_named_sharding_accepts_a_named_sharding_declaration(mesh):
    s = bc.State(jnp.zeros((8, 4)), sharding=NamedSharding(mesh, P("data")))
    assert sharding.named_sharding(s) == NamedSharding(mesh, P("data"))
    with pytest.raises(ShardingError, match="no mesh"):
        sharding.named_sharding(bc.State(jnp.zeros(2), sharding=("data",)))


def test_place_abstract_and_specs_by_path(mesh):
    net = Net()
    before = jax.tree.map(np.asarray, {"w": net.w.value, "tree": net.tree.value})
    with sharding.use_mesh(mesh), sharding.axis_rules(RULES):
        assert sharding.get_mesh() is not None
        abstract = sharding.abstract_states(net)
        sharding.place(net)
        shardings = sharding.get_named_shardings(net)
    assert net.w.value.sharding.is_equivalent_to(NamedSharding(mesh, P("data", "model")), 2)
    assert net.tree.value["b"].sharding.is_equivalent_to(NamedSharding(mesh, P(None, "model")), 2)
    assert abstract[("w",)].shape == (8, 4) and abstract[("w",)].sharding.spec == P("data", "model")
    assert shardings[("tree",)]["a"].spec == P("data")
    np.testing.assert_array_equal(net.w.value, before["w"])  # placing moves, never changes, values
    np.testing.assert_array_equal(net.tree.value["b"], before["tree"]["b"])
    assert sharding.get_mesh() is None


def test_abstract_states_without_a_mesh_carry_no_sharding():
    abstract = sharding.abstract_states(Net())
    assert abstract[("w",)] == jax.ShapeDtypeStruct((8, 4), jnp.float32)


def test_init_sharded_builds_in_place_and_threads_outer_states(mesh):
    counter = bc.State(jnp.zeros((), jnp.int32))

    def build():
        counter.value = counter.value + 1
        return Net()

    with sharding.use_mesh(mesh), sharding.axis_rules(RULES):
        net = sharding.init_sharded(build)
    assert int(counter.value) == 1
    assert net.w.value.sharding.is_equivalent_to(NamedSharding(mesh, P("data", "model")), 2)
    np.testing.assert_allclose(net.w.value, Net().w.value, rtol=1e-6)  # the same values as built eagerly
    with pytest.raises(ShardingError, match="init_sharded: no mesh"):
        sharding.init_sharded(Net)


def test_constrain_inside_jit_on_both_axis_types(mesh):
    with sharding.use_mesh(mesh):
        out = jax.jit(lambda x: sharding.constrain(x * 2, P("data")))(jnp.ones(8))
    assert out.sharding.is_equivalent_to(NamedSharding(mesh, P("data")), 1)
    assert sharding.constrain(jnp.ones(2), P("data")).shape == (2,)  # no mesh: a bare spec changes nothing


@many_devices
def test_placed_layout_really_splits_the_value(mesh):
    net = Net()
    with sharding.use_mesh(mesh), sharding.axis_rules(RULES):
        sharding.place(net)
    shards = net.w.value.addressable_shards
    assert len(shards) == 8 and shards[0].data.shape == (2, 2)


def test_declare_by_path_and_by_filter():
    net = Net()
    sharding.declare(net, {("plain",): ("data",), bc.ParamState: ("model",), ("w",): (None, "data")})
    assert net.plain.metadata["sharding"] == ("data",)
    assert net.tree.metadata["sharding"] == ("model",)
    assert net.w.metadata["sharding"] == (None, "data")  # later keys win
    with pytest.raises(ShardingError, match=r"declare: no state at path \('nope',\)\. Fix: use a path of"):
        sharding.declare(net, {("nope",): ("data",)})
