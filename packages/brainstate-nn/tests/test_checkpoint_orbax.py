"""The Orbax backend of save_checkpoint / load_checkpoint, and restoring onto another device layout.

The tests marked ``eight_devices`` need 8 devices: ``nox -s tests_multidevice`` runs the suite with
8 virtual CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count=8``); with fewer they skip.
"""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, SingleDeviceSharding
from jax.sharding import PartitionSpec as P

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T
from brainstate_core import graph

pytest.importorskip("orbax.checkpoint")

eight_devices = pytest.mark.skipif(jax.device_count() < 8, reason="needs 8 devices (nox -s tests_multidevice)")


def _snapshot(target):
    return {p: jax.tree.map(lambda x: np.asarray(jax.random.key_data(x) if nn._checkpoint._is_key(x) else x),
                            s.value) for p, s in graph.states(target).items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for p in a:
        jax.tree.map(np.testing.assert_array_equal, a[p], b[p])


def _kinds(seed):
    """One State of every kind of value a checkpoint holds."""
    rng = np.random.default_rng(seed)
    return {"key": bc.State(jax.random.key(seed)), "int8": bc.State(jnp.asarray(rng.integers(0, 9, 3), jnp.int8)),
            "bf16": bc.State(jnp.asarray(rng.normal(size=2), jnp.bfloat16)), "np": bc.State(rng.integers(0, 9, 2)),
            "number": bc.State(float(seed)), "empty": bc.State(jnp.zeros((0, 2))), "rng": R.RandomState(seed),
            "tree": bc.ParamState({"w": jnp.asarray(rng.normal(size=(2, 3)), jnp.float32), "b": jnp.ones(3) * seed})}


def test_orbax_round_trip_of_every_kind_of_value(tmp_path):
    saved = _kinds(1)
    nn.save_checkpoint(tmp_path / "ckpt", saved, metadata={"epoch": 3, "tags": ["a"]}, backend="orbax")
    assert (tmp_path / "ckpt").is_dir()
    target = _kinds(2)
    assert nn.load_checkpoint(tmp_path / "ckpt", target) == {"epoch": 3, "tags": ["a"]}
    _assert_same(_snapshot(target), _snapshot(saved))
    assert isinstance(target["number"].value, float) and isinstance(target["np"].value, np.ndarray)
    assert target["bf16"].value.dtype == jnp.bfloat16 and nn._checkpoint._is_key(target["key"].value)
    np.testing.assert_array_equal(target["rng"].normal(size=2), saved["rng"].normal(size=2))


def test_a_model_and_optimiser_continue_as_saved(tmp_path):
    def build():
        R.seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
        return model, nn.optim.Adam(1e-2, params=model.states(bc.ParamState))

    def step(model, opt):
        grads = T.grad(lambda: jnp.mean(model(jnp.ones((2, 3))) ** 2), grad_states=opt.param_states)()
        opt.update(grads)

    model, opt = build()
    step(model, opt)
    nn.save_checkpoint(tmp_path / "run", {"model": model, "optim": opt}, backend="orbax")
    step(model, opt)
    again = build()
    nn.load_checkpoint(tmp_path / "run", {"model": again[0], "optim": again[1]})
    step(*again)
    _assert_same(_snapshot({"model": again[0], "optim": again[1]}), _snapshot({"model": model, "optim": opt}))


@pytest.mark.parametrize("backend", ["auto", "msgpack"])
def test_single_device_models_get_a_msgpack_file(tmp_path, backend):
    nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.arange(3.0))}, backend=backend)
    assert (tmp_path / "c").is_file()


def test_strict_false_restores_a_part(tmp_path):
    nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.arange(3.0)), "b": bc.State(jnp.ones(2))}, backend="orbax")
    target = {"a": bc.State(jnp.zeros(3)), "z": bc.State(jnp.ones(1))}
    nn.load_checkpoint(tmp_path / "c", target, strict=False)
    assert target["a"].value.tolist() == [0.0, 1.0, 2.0] and target["z"].value.tolist() == [1.0]


def test_a_committed_value_stays_on_its_device(tmp_path):
    device = jax.devices()[-1]
    nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.arange(3.0))}, backend="orbax")
    target = {"a": bc.State(jax.device_put(jnp.zeros(3), device))}
    nn.load_checkpoint(tmp_path / "c", target)
    assert target["a"].value.committed and target["a"].value.sharding == SingleDeviceSharding(device)


@pytest.mark.parametrize("backend", ["orbax", "msgpack"])
def test_mismatches_are_listed_and_nothing_changes(tmp_path, backend):
    nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.zeros(3)), "b": bc.State(jnp.zeros(2))}, backend=backend)
    target = {"a": bc.State(jnp.ones(4)), "c": bc.State(jnp.ones(1))}
    pattern = (r"(?s)Cannot restore .*c into dict \(nothing was restored\):.*\('a',\): State created at .*"
               r"shape \(3,\) saved, \(4,\) expected.*\('c',\): State\(f32\[1\]\) .* is not in the checkpoint.*"
               r"\('b',\): saved in the checkpoint, but dict has no state there.*Fix: build the model .*strict=False")
    with pytest.raises(bc.StateShapeError, match=pattern):
        nn.load_checkpoint(tmp_path / "c", target)
    assert target["a"].value.tolist() == [1.0] * 4


@pytest.mark.parametrize("backend", ["auto", "orbax", "msgpack"])
def test_a_missing_checkpoint(tmp_path, backend):
    with pytest.raises(nn.CheckpointNotFoundError, match=r"There is no checkpoint at .*nothing.*Fix: pass the path") as info:
        nn.load_checkpoint(tmp_path / "nothing", {}, backend=backend)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, bc.BrainStateError)


@pytest.mark.parametrize("saved, asked, pattern", [
    ("orbax", "msgpack", r"is a folder, not a msgpack checkpoint\. Fix: load it with backend='orbax'"),
    ("msgpack", "orbax", r"is a file, not a orbax checkpoint\. Fix: load it with backend='msgpack'"),
])
def test_the_backend_must_fit_the_checkpoint(tmp_path, saved, asked, pattern):
    nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.zeros(3))}, backend=saved)
    with pytest.raises(bc.StateShapeError, match=pattern):
        nn.load_checkpoint(tmp_path / "c", {"a": bc.State(jnp.zeros(3))}, backend=asked)


def test_a_folder_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(bc.StateShapeError, match=r"folder is not a brainstate checkpoint \(it has no "):
        nn.load_checkpoint(tmp_path / "folder", {})


@pytest.mark.parametrize("call", ["save", "load"])
def test_an_unknown_backend(tmp_path, call):
    with pytest.raises(bc.ConfigError, match=r"Unknown checkpoint backend 'hdf5'\. Fix: pass one of 'auto', 'msgpack'"):
        if call == "save":
            nn.save_checkpoint(tmp_path / "c", {}, backend="hdf5")
        else:
            nn.load_checkpoint(tmp_path, {}, backend="hdf5")


def test_orbax_metadata_must_be_json(tmp_path):
    with pytest.raises(bc.ConfigError, match=r"metadata of an Orbax checkpoint must be JSON-serialisable.*bytes"):
        nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.zeros(1))}, metadata={"raw": b"\x00"}, backend="orbax")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("call", ["save", "load"])
def test_without_orbax_the_error_names_the_extra(tmp_path, monkeypatch, call):
    nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.zeros(1))}, backend="orbax")
    monkeypatch.setitem(sys.modules, "orbax.checkpoint", None)  # `import orbax.checkpoint` now raises ImportError
    with pytest.raises(T.MissingDependencyError, match=r"need orbax-checkpoint.*pip install 'brainstate-nn\[orbax\]'"):
        if call == "save":
            nn.save_checkpoint(tmp_path / "d", {"a": bc.State(jnp.zeros(1))}, backend="orbax")
        else:
            nn.load_checkpoint(tmp_path / "c", {"a": bc.State(jnp.zeros(1))})


# -- several devices ------------------------------------------------------------------------------------------
def _mlp(seed):
    """An MLP and its Adam optimiser, every value drawn from ``seed`` (so two builds differ everywhere)."""
    R.seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 8))
    optim = nn.optim.Adam(1e-2, params=model.states(bc.ParamState))
    target = {"model": model, "optim": optim}
    rng = np.random.default_rng(seed)
    for state in graph.states(target).values():
        state.value = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape) * 9, x.dtype), state.value)
    return target


def _layouts(kind):
    """The sharding each leaf gets, by its number of axes, on a (4, 2) mesh, an (8,) mesh or none."""
    if kind == "4x2":
        mesh = Mesh(np.array(jax.devices()[:8]).reshape(4, 2), ("data", "model"))
        return {2: NamedSharding(mesh, P("data", "model")), 1: NamedSharding(mesh, P("model")), 0: NamedSharding(mesh, P())}
    mesh = Mesh(np.array(jax.devices()[:8]), ("data",))
    return {2: NamedSharding(mesh, P("data", None)), 1: NamedSharding(mesh, P("data")), 0: NamedSharding(mesh, P())}


def _place(target, kind):
    if kind != "1 device":
        layouts = _layouts(kind)
        for state in graph.states(target).values():
            state.value = jax.tree.map(lambda x: jax.device_put(x, layouts[x.ndim]), state.value)
    return target


def _shardings(target):
    return {p: jax.tree.map(lambda x: x.sharding, s.value) for p, s in graph.states(target).items()}


@eight_devices
@pytest.mark.parametrize("backend", ["auto", "msgpack"])
def test_4x2_mesh_restores_onto_an_8_mesh_and_onto_one_device(tmp_path, backend):
    saved = _place(_mlp(0), "4x2")
    assert saved["model"].layers[0].weight.value["weight"].sharding.spec == P("data", "model")
    nn.save_checkpoint(tmp_path / "ckpt", saved, metadata={"step": 1}, backend=backend)
    assert (tmp_path / "ckpt").is_dir() == (backend == "auto")  # auto: spread over 8 devices, so Orbax
    expected = _snapshot(saved)
    for kind in ["8", "1 device"]:
        target = _place(_mlp(1), kind)
        layout = _shardings(target)
        assert nn.load_checkpoint(tmp_path / "ckpt", target) == {"step": 1}
        _assert_same(_snapshot(target), expected)
        assert _shardings(target) == layout, kind
        leaves = jax.tree.leaves({p: s.value for p, s in graph.states(target).items()})
        if kind == "1 device":
            assert all(len(x.sharding.device_set) == 1 and not x.committed for x in leaves)
        else:
            assert all(len(x.sharding.device_set) == 8 for x in leaves)


@eight_devices
def test_sharded_keys_and_a_python_number_next_to_sharded_arrays(tmp_path):
    mesh = Mesh(np.array(jax.devices()[:8]), ("data",))
    keys = jax.device_put(jax.random.split(jax.random.key(0), 8), NamedSharding(mesh, P("data")))
    saved = {"keys": bc.State(keys), "n": bc.State(2.5), "w": bc.State(jax.device_put(jnp.arange(16.0), NamedSharding(mesh, P("data"))))}
    nn.save_checkpoint(tmp_path / "c", saved)
    assert os.path.isdir(tmp_path / "c")
    target = {"keys": bc.State(jax.random.split(jax.random.key(1), 8)), "n": bc.State(0.0), "w": bc.State(jnp.zeros(16))}
    nn.load_checkpoint(tmp_path / "c", target)
    _assert_same(_snapshot(target), _snapshot(saved))
    assert target["n"].value == 2.5 and len(target["keys"].value.sharding.device_set) == 1
