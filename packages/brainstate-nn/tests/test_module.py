"""The Module system: discovery, PyTorch-style views, state initialisation, repr, Sequential."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T


class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.lin = nn.Linear(n, n)
        self.scale = bc.ParamState(jnp.ones(n))
        self.count = bc.State(jnp.zeros(()))

    def update(self, x):
        self.count.value = self.count.value + 1
        return self.lin(x) * self.scale.value


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [Block(2), Block(2)]
        self.heads = {"a": nn.Linear(2, 1), "b": (nn.Linear(2, 3),)}
        self.act = nn.ReLU()

    def update(self, x):
        for b in self.blocks:
            x = self.act(b(x))
        return self.heads["a"](x), self.heads["b"][0](x)


def test_states_found_in_attributes_lists_tuples_dicts():
    net = Net()
    params = net.states(bc.ParamState)
    assert list(params) == [
        ("blocks", 0, "lin", "weight"),
        ("blocks", 0, "scale"),
        ("blocks", 1, "lin", "weight"),
        ("blocks", 1, "scale"),
        ("heads", "a", "weight"),
        ("heads", "b", 0, "weight"),
    ]
    params, rest = net.states(bc.ParamState, ...)
    assert list(rest) == [("blocks", 0, "count"), ("blocks", 1, "count")]
    assert params[("heads", "a", "weight")] is net.heads["a"].weight


def test_call_delegates_to_update_and_missing_update_is_reported():
    net = Net()
    a, b = net(jnp.ones((4, 2)))
    assert a.shape == (4, 1) and b.shape == (4, 3)
    assert float(net.blocks[0].count.value) == 1.0
    with pytest.raises(NotImplementedError, match=r"Module defines no computation.*override `update"):
        nn.Module()(1.0)


def test_pytorch_style_views():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.lin.weight", "blocks.0.scale", "blocks.1.lin.weight", "blocks.1.scale",
                     "heads.a.weight", "heads.b.0.weight"]
    assert [p is s for p, (_, s) in zip(net.parameters(), net.named_parameters())] == [True] * 6
    assert [n for n, _ in net.named_children()] == ["act", "blocks.0", "blocks.1", "heads.a", "heads.b.0"]
    assert list(net.children())[0] is net.act
    assert [n for n, _ in net.named_modules()] == ["", "act", "blocks.0", "blocks.0.lin", "blocks.1",
                                                   "blocks.1.lin", "heads.a", "heads.b.0"]
    assert next(net.modules()) is net
    assert list(net.nodes(nn.Linear)) == [("blocks", 0, "lin"), ("blocks", 1, "lin"), ("heads", "a"), ("heads", "b", 0)]


def test_shared_submodule_is_counted_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert nn.count_parameters(seq) == 12
    assert len(list(seq.parameters())) == 1


@pytest.mark.parametrize("filters, expected", [((), 2 * (6 + 2) + 3 + 9), ((bc.State,), 2 * (6 + 2 + 1) + 3 + 9)])
def test_count_parameters(filters, expected):
    assert nn.count_parameters(Net(), *filters) == expected


class Recorder(nn.Module):
    def __init__(self, log, name, children=()):
        super().__init__(name=name)
        self.log = log
        self.kids = list(children)

    def init_state(self, *args, **kwargs):
        self.log.append(("init", self.name, args, kwargs))

    def reset_state(self, *args, **kwargs):
        self.log.append(("reset", self.name, args, kwargs))


def _tree(log):
    return Recorder(log, "root", [Recorder(log, "a", [Recorder(log, "a1"), Recorder(log, "a2")]), Recorder(log, "b")])


def test_init_and_reset_all_states_visit_children_first_root_last():
    log = []
    root = _tree(log)
    assert nn.init_all_states(root, 3, flag=True) is root
    assert [e[1] for e in log] == ["a1", "a2", "a", "b", "root"]
    assert all(e[2:] == ((3,), {"flag": True}) for e in log)
    log.clear()
    nn.reset_all_states(root, exclude=lambda path, m: m.name.startswith("a"))
    assert [(e[0], e[1]) for e in log] == [("reset", "b"), ("reset", "root")]


def test_init_state_again_assigns_into_the_same_states_and_jit_retraces():
    cell = nn.init_all_states(nn.GRUCell(3, 4), batch_size=2)
    h, params = cell.h, dict(cell.states(bc.ParamState))
    traces = []

    @T.jit
    def step(x):
        traces.append(x.shape)
        return cell(x)

    assert step(jnp.ones((2, 3))).shape == (2, 4)
    nn.init_all_states(cell, batch_size=5)
    assert cell.h is h and h.value.shape == (5, 4)
    assert all(cell.states(bc.ParamState)[p] is s for p, s in params.items())
    assert step(jnp.ones((5, 3))).shape == (5, 4)
    assert traces[-1] == (5, 3) and set(traces) == {(2, 3), (5, 3)}
    n = len(traces)
    step(jnp.ones((5, 3)))
    assert len(traces) == n  # no retrace for the same shapes
    assert h.value.shape == (5, 4) and float(jnp.abs(h.value).sum()) > 0
    nn.reset_all_states(cell, batch_size=5)
    assert cell.h is h and float(jnp.abs(h.value).sum()) == 0.0


def test_set_state_replaces_a_state_of_another_type():
    m = nn.Module()
    first = m.set_state("s", jnp.zeros(2), bc.ShortTermState)
    second = m.set_state("s", jnp.zeros(2), bc.HiddenState)
    assert second is not first and type(second) is bc.HiddenState and m.s is second
    assert m.set_state("p", jnp.ones(1), bc.ParamState, tag="w").tag == "w"


class Noisy(nn.Module):
    def init_state(self, batch_size=None):
        self.set_state("x", R.randn(3) if batch_size is None else R.randn(batch_size, 3))


def test_vmap_init_all_states_batches_new_states_and_keeps_existing_objects():
    cell = nn.vmap_init_all_states(nn.LSTMCell(3, 4), axis_size=6, state_tag="hidden")
    assert cell.h.value.shape == (6, 4) and cell.c.value.shape == (6, 4) and cell.h.tag == "hidden"
    assert cell.W.weight.value["weight"].shape == (7, 16)  # parameters are not batched
    noisy = Noisy()
    nn.init_all_states(noisy)
    x = noisy.x
    nn.vmap_init_all_states(noisy, axis_size=5)
    assert noisy.x is x and x.value.shape == (5, 3)
    rows = np.asarray(x.value)
    assert len({tuple(r) for r in rows.round(6)}) == 5  # every lane drew its own numbers
    assert noisy.states() == {("x",): x}


def test_hidden_state_missing_is_reported():
    with pytest.raises(bc.StateUsageError, match=r"GRUCell has no hidden state yet.*init_all_states"):
        nn.GRUCell(2, 2)(jnp.ones(2))


def test_repr_shows_structure_shapes_and_counts():
    text = repr(Net())
    assert text.splitlines()[0] == "Net()  # 28 params"
    assert "  blocks[0]: Block()  # 8 params" in text
    assert "    lin: Linear(in_size=(2,), out_size=(2,), bias=True)  # 6 params" in text
    assert "      weight: ParamState({'weight': f32[2,2], 'bias': f32[2]})" in text
    assert "    count: State(f32[])" in text
    assert "  heads['a']: Linear" not in text and "  heads.a: Linear" in text
    assert "  heads.b[0]: Linear(in_size=(2,), out_size=(3,), bias=True)  # 9 params" in text


def test_sequential_indexing_slicing_and_functions():
    seq = nn.Sequential(nn.Linear(3, 4), jnp.tanh, nn.Linear(4, 2))
    assert seq(jnp.ones(3)).shape == (2,)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and head[0] is seq[0] and len(head) == 2
    assert head(jnp.ones(3)).shape == (4,)
    seq.append(nn.Softmax())
    assert list(seq)[-1].__class__ is nn.Softmax and float(seq(jnp.ones(3)).sum()) == pytest.approx(1.0)
    with pytest.raises(TypeError, match=r"Sequential layer 1 is 3, which is not callable"):
        nn.Sequential(nn.ReLU(), 3)


def test_seed_training_loop_runs_and_learns():
    class SimpleModel(nn.Module):
        def __init__(self, in_size, out_size):
            super().__init__()
            self.weight = bc.ParamState(R.randn(in_size, out_size) * 0.01)
            self.bias = bc.ParamState(jnp.zeros(out_size))

        def __call__(self, x):
            return x @ self.weight.value + self.bias.value

    R.seed(0)
    model = SimpleModel(3, 2)
    true_w = jnp.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]])

    def loss_fn(x, y):
        return jnp.mean((model(x) - y) ** 2)

    params = model.states(bc.ParamState)

    @T.jit
    def train_step(x, y):
        grads = T.grad(loss_fn, grad_states=params)(x, y)
        for key in params.keys():
            params[key].value -= 0.1 * grads[key]
        return loss_fn(x, y)

    losses = []
    for _ in range(100):
        x = R.randn(32, 3)
        losses.append(float(train_step(x, x @ true_w)))
    assert losses[-1] < 0.01 * losses[0]


def test_treescope_renders_modules_and_states():
    treescope = pytest.importorskip("treescope")
    import brainstate_nn as nn

    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    text = treescope.render_to_text(model)
    assert "Linear" in text and "ParamState" in text and "weight" in text
    assert "treescope" in treescope.render_to_html(model)
