"""transform.shard_map over stateful functions, and jit with declared layouts (brainstate.sharding).

The mesh is (4, 2) with 8 devices (``nox -s tests_multidevice``) and (1, 1) otherwise; tests that need
several devices to tell layouts or shards apart are marked.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import brainstate
from brainstate import ShardingError, sharding
from brainstate.transform import for_loop, grad, jit, shard_map

MANY = jax.device_count() >= 8
SHAPE = (4, 2) if MANY else (1, 1)
many_devices = pytest.mark.skipif(not MANY, reason="needs 8 devices (nox -s tests_multidevice)")


@pytest.fixture(params=[AxisType.Auto, AxisType.Explicit], ids=["auto", "explicit"])
def mesh(request):
    return jax.make_mesh(SHAPE, ("data", "model"), axis_types=(request.param,) * 2)


@pytest.fixture(autouse=True)
def _own_key():
    # Random draws made eagerly under a mesh leave the default key on that mesh: keep it per test.
    key = brainstate.random.DEFAULT.value
    brainstate.random.seed(0)
    yield
    brainstate.random.DEFAULT.value = key


def _counting(body):
    calls = []

    def f(*args):
        calls.append(1)
        return body(*args)

    return f, calls


def test_states_read_written_and_learnt_once(mesh):
    w = brainstate.ParamState(jnp.ones((8, 4)), sharding=(None, "model"))
    total = brainstate.State(jnp.zeros(()))

    def body(x):
        y = x @ w.value
        total.value = total.value + jax.lax.psum(y.sum(), ("data", "model"))
        return y

    f, calls = _counting(body)
    g = shard_map(f, mesh, in_specs=P("data"), out_specs=P("data", "model"))
    x = jnp.arange(64.0).reshape(8, 8)
    # laid out on the mesh from the start: otherwise the first write-back changes their layout, and JAX
    # traces once more for the new input layout (as it does for any jax.jit)
    sharding.place([w, total], mesh=mesh)
    out = g(x)
    first = len(calls)
    out = g(x)
    np.testing.assert_allclose(out, x @ np.ones((8, 4)))
    assert float(total.value) == pytest.approx(2 * float((x @ np.ones((8, 4))).sum()))
    assert len(calls) == first  # the second call is a cached program: no rediscovery, no retrace
    assert out.sharding.is_equivalent_to(NamedSharding(mesh, P("data", "model")), 2)
    assert "shard_map(" in repr(g)


def test_replicated_state_written_per_shard_is_an_error(mesh):
    if not MANY:
        pytest.skip("with one shard nothing differs per shard")
    s = brainstate.State(jnp.zeros(()))
    before = s.value

    def body(x):
        s.value = x.sum()
        return x

    with pytest.raises(ShardingError, match=r"State\(f32\[\]\) \(created at .*test_shard_map.py:\d+\) is laid out as "
                                            r"P\(\) in shard_map but was written with a value that differs per shard "
                                            r"along mesh axes \['data'\]\. Fix: reduce it first"):
        shard_map(body, mesh, in_specs=P("data"), out_specs=P("data"))(jnp.arange(8.0))
    assert s.value is before  # nothing written


def test_state_out_specs_keep_per_shard_values(mesh):
    s = brainstate.State(jnp.zeros(SHAPE[0]))

    def body(x):
        s.value = x.sum(keepdims=True)
        return x

    shard_map(body, mesh, in_specs=P("data"), out_specs=P("data"), state_in_specs={s: P("data")},
              state_out_specs={s: P("data")})(jnp.arange(8.0))
    np.testing.assert_allclose(s.value, np.arange(8.0).reshape(SHAPE[0], -1).sum(1))


def test_random_state_gives_each_shard_its_own_stream(mesh):
    def body(x):
        return x + brainstate.random.rand(*x.shape)

    key = brainstate.random.DEFAULT.value
    g = shard_map(body, mesh, in_specs=P(("data", "model")), out_specs=P(("data", "model")))
    first = np.asarray(g(jnp.zeros((8, 1))))
    second = np.asarray(g(jnp.zeros((8, 1))))
    assert not np.array_equal(np.asarray(key), np.asarray(brainstate.random.DEFAULT.value))  # the key advanced
    assert not np.array_equal(first, second)
    if MANY:
        assert len(np.unique(first)) == 8  # one stream per shard


@pytest.mark.parametrize("outer", ["jit", "grad", "for_loop"])
def test_nests_in_jit_grad_and_loops(mesh, outer):
    w = brainstate.ParamState(jnp.full((8, 4), 0.5), sharding=(None, "model"))
    with sharding.use_mesh(mesh):
        sharding.place(w)
        mapped = shard_map(lambda x: x @ w.value, in_specs=P("data"), out_specs=P("data", "model"))
        x = jnp.ones((8, 8))
        if outer == "jit":
            np.testing.assert_allclose(jit(mapped)(x), np.full((8, 4), 4.0))
        elif outer == "grad":
            g = jit(grad(lambda: (mapped(x) ** 2).sum(), grad_states=w))()
            np.testing.assert_allclose(g, np.full((8, 4), 64.0))  # d/dw sum((x w)^2) = 2 x^T (x w)
        else:
            acc = brainstate.State(jnp.zeros((8, 4)), sharding=("data", "model"))  # Explicit axes: carry types
            sharding.place(acc)

            def step(i):
                acc.value = acc.value + mapped(x)

            jit(lambda: for_loop(step, jnp.arange(3)))()
            np.testing.assert_allclose(acc.value, np.full((8, 4), 12.0))


def test_no_mesh_is_an_error():
    with pytest.raises(ShardingError, match=r"no mesh\. Fix: pass mesh="):
        shard_map(lambda x: x, in_specs=P("data"), out_specs=P("data"))(jnp.ones(2))


# -- jit with layouts ----------------------------------------------------------------------------------
def test_jit_gives_its_shardings_to_jax_jit(mesh):
    s = NamedSharding(mesh, P("data"))
    f = jit(lambda x: x * 2, in_shardings=s, out_shardings=s)
    g = jit(lambda x, y: (x + y.sum(), y), in_shardings=(s, None), out_shardings=NamedSharding(mesh, P()))
    assert f(jnp.ones(8)).sharding.is_equivalent_to(s, 1)
    a, b = g(jnp.ones(8), jnp.ones(3))
    assert a.sharding.is_equivalent_to(NamedSharding(mesh, P()), 1)
    assert f.lower(jnp.ones(8)).compile() is not None


def test_jit_pins_written_states_and_recompiles_on_new_rules(mesh):
    w = brainstate.ParamState(jnp.ones((8, 4)), sharding=("embed", None))
    traces = []

    @jit
    def step():
        traces.append(1)
        w.value = w.value * 2

    with sharding.use_mesh(mesh):
        with sharding.axis_rules({"embed": "data"}):
            sharding.place(w)
            step()
            step()
            assert w.value.sharding.is_equivalent_to(NamedSharding(mesh, P("data")), 2)
        with sharding.axis_rules({"embed": "model"}):
            sharding.place(w)
            step()
            assert w.value.sharding.is_equivalent_to(NamedSharding(mesh, P("model")), 2)
    assert len(traces) == 2  # one trace per set of rules
    np.testing.assert_allclose(w.value, np.full((8, 4), 8.0))


@many_devices
def test_jit_reading_an_unplaced_declared_state_names_it(mesh):
    w = brainstate.ParamState(jnp.ones((8, 4)), sharding=("data", "model"))
    with sharding.use_mesh(mesh), pytest.raises(
            ShardingError, match=r"ParamState\(f32\[8,4\]\) \(created at .*\) is declared sharded as "
                                 r"P\('data', 'model'\) on the mesh in use, but its value is laid out as "
                                 r"SingleDeviceSharding on devices \[0\]\. Fix: place .*sharding\.place\(model\)"):
        jit(lambda: w.value.sum())()


def test_declared_model_runs_unchanged_without_a_mesh():
    w = brainstate.ParamState(jnp.ones((8, 4)), sharding=("embed", "model"))

    @jit
    def step():
        w.value = w.value + 1

    step()
    np.testing.assert_allclose(w.value, 2.0)


COLLECTIVES = {
    "psum": lambda x, ax, n: jax.lax.psum(x, ax),
    "pmean": lambda x, ax, n: jax.lax.pmean(x, ax),
    "all_gather": lambda x, ax, n: jax.lax.all_gather(x, ax).sum(0),
    "ppermute": lambda x, ax, n: jax.lax.ppermute(x, ax, [(i, (i + 1) % n) for i in range(n)]),
    "axis_index": lambda x, ax, n: x + jax.lax.axis_index(ax),
}


def _expected(name: str, rows: np.ndarray) -> np.ndarray:
    n = len(rows)
    return {"psum": np.broadcast_to(rows.sum(0), rows.shape), "pmean": np.broadcast_to(rows.mean(0), rows.shape),
            "all_gather": np.broadcast_to(rows.sum(0), rows.shape), "ppermute": np.roll(rows, 1, axis=0),
            "axis_index": rows + np.arange(n)[:, None]}[name]


@pytest.mark.parametrize("name", sorted(COLLECTIVES))
@pytest.mark.parametrize("mapping", ["vmap", "pmap", "shard_map"])
def test_collectives_with_a_state_under_every_mapping(name, mapping):
    n = jax.local_device_count() if mapping != "vmap" else 4
    scale = brainstate.State(jnp.array(2.0))
    rows = np.arange(n * 3, dtype=np.float32).reshape(n, 3)

    def body(x):
        return COLLECTIVES[name](x * scale.value, "i", n)

    if mapping == "vmap":
        out = brainstate.transform.vmap(body, axis_name="i")(jnp.asarray(rows))
    elif mapping == "pmap":
        out = brainstate.transform.pmap(body, axis_name="i")(jnp.asarray(rows))
    else:
        mesh = jax.make_mesh((n,), ("i",), axis_types=(AxisType.Auto,))
        out = shard_map(lambda x: body(x[0])[None], mesh, in_specs=P("i"), out_specs=P("i"))(jnp.asarray(rows))
    np.testing.assert_allclose(out, _expected(name, rows * 2.0), rtol=1e-6)
