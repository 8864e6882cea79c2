"""Checkpoints: round trips of every kind of state, one error listing every mismatch, atomic writes."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T
from brainstate_core import graph


class Net(nn.Module):
    def __init__(self, hidden=4):
        self.lin = nn.Linear(3, hidden)
        self.bn = nn.BatchNorm0d(hidden)
        self.cell = nn.GRUCell(hidden, 2)
        self.rng = R.RandomState(0)
        self.count = bc.State(1.5)

    def update(self, x):
        return self.cell(self.bn(self.lin(x)))


def _snapshot(target):
    return {p: jax.tree.map(np.asarray, s.value) for p, s in graph.states(target).items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for p in a:
        jax.tree.map(np.testing.assert_array_equal, a[p], b[p])


def test_round_trip_of_model_optimiser_and_random_keys(tmp_path):
    net = nn.init_all_states(Net(), batch_size=2)
    opt = nn.optim.Adam(1e-2, params=net.states(bc.ParamState))
    target = {"model": net, "optim": opt}

    @T.jit
    def train(x):
        with bc.environ.context(fit=True):
            net(x)
        opt.update(jax.tree.map(jnp.ones_like, net.states(bc.ParamState).to_dict_values()))

    train(jnp.ones((2, 3)))
    saved = _snapshot(target)
    file = tmp_path / "ckpt.msgpack"
    nn.save_checkpoint(file, target, metadata={"epoch": 7, "note": "x"})
    next_draw = np.asarray(net.rng.normal(size=3))

    net.rng.seed(99)
    train(jnp.ones((2, 3)) * 5)
    net.count.value = 0.0
    assert nn.load_checkpoint(file, target) == {"epoch": 7, "note": "x"}
    _assert_same(_snapshot(target), saved)
    assert isinstance(net.count.value, float) and net.count.value == 1.5
    np.testing.assert_array_equal(net.rng.normal(size=3), next_draw)  # the generator continues as saved
    assert [f for f in os.listdir(tmp_path)] == ["ckpt.msgpack"]


def test_typed_keys_and_other_dtypes(tmp_path):
    tree = {"key": bc.State(jax.random.key(3)), "i": bc.State(jnp.arange(3, dtype=jnp.int8)),
            "b": bc.State(jnp.ones(2, jnp.bfloat16)), "n": bc.State(np.array([1, 2], np.uint16))}
    nn.save_checkpoint(tmp_path / "c", tree)
    before = jax.random.key_data(tree["key"].value)
    tree["key"].value = jax.random.key(4)
    tree["i"].value = jnp.zeros(3, jnp.int8)
    tree["n"].value = np.zeros(2, np.uint16)
    nn.load_checkpoint(tmp_path / "c", tree)
    np.testing.assert_array_equal(jax.random.key_data(tree["key"].value), before)
    assert tree["i"].value.tolist() == [0, 1, 2] and tree["b"].value.dtype == jnp.bfloat16
    assert isinstance(tree["n"].value, np.ndarray) and tree["n"].value.tolist() == [1, 2]


def test_mismatches_are_listed_together_and_nothing_changes(tmp_path):
    nn.save_checkpoint(tmp_path / "c", nn.init_all_states(Net(hidden=4), batch_size=2))
    other = nn.init_all_states(Net(hidden=5), batch_size=2)
    other.extra = bc.ParamState(jnp.zeros(1))
    other.count = bc.State(jnp.zeros(2, jnp.int32))
    before = _snapshot(other)
    with pytest.raises(bc.StateShapeError) as info:
        nn.load_checkpoint(tmp_path / "c", other)
    msg = str(info.value)
    assert msg.startswith(f"Cannot restore {tmp_path / 'c'} into Net (nothing was restored):")
    for expected in [
        r"('lin', 'weight'): ParamState created at ",
        "shape (3, 4) saved, (3, 5) expected (leaf 1)",
        r"('bn', 'running_mean'): BatchState created at ",
        r"('extra',): ParamState(f32[1]) (created at ",
        ") is not in the checkpoint",
        r"('count',): State created at ",
        "shape () saved, (2,) expected",
        "strict=False",
    ]:
        assert expected in msg, expected
    _assert_same(_snapshot(other), before)


def test_dtype_mismatch_and_extra_paths(tmp_path):
    nn.save_checkpoint(tmp_path / "c", {"a": bc.State(jnp.zeros(2)), "b": bc.State(jnp.zeros(1))})
    target = {"a": bc.State(jnp.zeros(2, jnp.int32))}
    with pytest.raises(bc.StateShapeError, match=r"(?s)dtype float32 saved, int32 expected.*\('b',\): saved in the "
                                                 r"checkpoint, but dict has no state there"):
        nn.load_checkpoint(tmp_path / "c", target)
    target = {"a": bc.State(jnp.ones(2)), "z": bc.State(jnp.ones(1))}
    nn.load_checkpoint(tmp_path / "c", target, strict=False)
    assert target["a"].value.tolist() == [0.0, 0.0] and target["z"].value.tolist() == [1.0]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    file = tmp_path / "c"
    nn.save_checkpoint(file, {"a": bc.State(jnp.zeros(2))})
    original = file.read_bytes()

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        nn.save_checkpoint(file, {"a": bc.State(jnp.ones(2))})
    assert file.read_bytes() == original and os.listdir(tmp_path) == ["c"]


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "junk").write_bytes(b"\xc1\xc1")
    with pytest.raises(bc.StateShapeError, match=r"is not a brainstate checkpoint \(msgpack could not read it"):
        nn.load_checkpoint(tmp_path / "junk", {})
    import msgpack

    (tmp_path / "other").write_bytes(msgpack.packb({"a": 1}))
    with pytest.raises(bc.StateShapeError, match=r"has no 'brainstate-checkpoint' header"):
        nn.load_checkpoint(tmp_path / "other", {})
