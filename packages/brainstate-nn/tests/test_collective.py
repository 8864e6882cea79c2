"""Collective operations (call_all_fns, vmap'd init/reset, assign_state_values) and the wrappers
EnvironContext, Vmap and Map."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_random as R
import brainstate_transform as T


# -- call order --------------------------------------------------------------------------------
def _leveled(level):
    """A module class whose ``ping`` is marked with ``call_order(level)`` (``None``: unmarked)."""

    class Leveled(nn.Module):
        def __init__(self, log, name, children=()):
            super().__init__(name=name)
            self.log, self.kids = log, list(children)

        def ping(self, *args, **kwargs):
            self.log.append((self.name, args, kwargs))

    if level is not None:
        Leveled.ping = nn.call_order(level)(Leveled.ping)
    return Leveled


def _tree(log):
    plain, one, two = _leveled(None), _leveled(1), _leveled(2)
    return plain(log, "root", [two(log, "a", [one(log, "a1"), plain(log, "a2")]), one(log, "b"), plain(log, "c")])


def test_call_all_fns_runs_unmarked_children_first_then_by_level():
    log = []
    root = _tree(log)
    assert nn.call_all_fns(root, "ping", (1,), {"k": 2}) is root
    assert [n for n, *_ in log] == ["a2", "c", "root", "a1", "b", "a"]
    assert all(rest == [(1,), {"k": 2}] for _, *rest in log)


def test_call_all_fns_wraps_a_single_argument():
    log = []
    nn.call_all_fns(_leveled(None)(log, "x"), "ping", jnp.ones(2))
    assert log[0][1][0].shape == (2,)


def test_call_order_marks_the_method_and_survives_dynamics_wrapping():
    class Cell(nn.Dynamics):
        @nn.call_order(3)
        def init_state(self, batch_size=None, **kwargs):
            self.init_hidden("x", 0.0, batch_size)

    assert Cell.init_state.call_order == 3 and Cell(2).init_state.call_order == 3
    assert nn.call_order(42, check_order_boundary=False)(lambda: None).call_order == 42


@pytest.mark.parametrize("level", [-1, 10, 1.5, True, "1"])
def test_call_order_rejects_levels_outside_the_range(level):
    with pytest.raises(bc.ConfigError, match=r"call_order level must be an integer in \[0, 10\).*Fix"):
        nn.call_order(level)


def test_init_and_reset_all_states_follow_call_order():
    log = []

    class First(nn.Module):
        @nn.call_order(0)
        def init_state(self):
            log.append("first")

    class Last(nn.Module):
        def __init__(self):
            self.kids = [First()]

        @nn.call_order(5)
        def init_state(self):
            log.append("last")

        @nn.call_order(5)
        def reset_state(self):
            log.append("reset last")

    class Root(nn.Module):
        def __init__(self):
            self.kids = [Last()]

        def init_state(self):
            log.append("root")

        def reset_state(self):
            log.append("reset root")

    nn.init_all_states(Root())
    assert log == ["root", "first", "last"]
    log.clear()
    nn.reset_all_states(Root())
    assert log == ["reset root", "reset last"]


# -- exclusion -----------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["type", "predicate", "init_all_states", "exclude_alias"])
def test_node_to_exclude_leaves_modules_out(how):
    log = []
    kinds = {}

    class A(nn.Module):
        def init_state(self):
            log.append("A")

        ping = init_state

    class B(A):
        def init_state(self):
            log.append("B")

        ping = init_state

    root = nn.Sequential(A(), B(), nn.Sequential(B()))
    kinds["type"] = B
    if how == "type":
        nn.call_all_fns(root, "ping", node_to_exclude=B, fn_if_not_exist="pass")
    elif how == "predicate":
        nn.call_all_fns(root, "ping", node_to_exclude=lambda path, m: path[:2] == ("layers", 2),
                        fn_if_not_exist="pass")
    elif how == "init_all_states":
        nn.init_all_states(root, node_to_exclude=B)
    else:
        nn.init_all_states(root, exclude=B)
    assert log == (["A", "B"] if how == "predicate" else ["A"])


def test_exclude_and_node_to_exclude_together_are_refused():
    with pytest.raises(bc.InputError, match=r"reset_all_states\(\) got both exclude= and node_to_exclude=.*Fix"):
        nn.reset_all_states(nn.Linear(2, 2), exclude=nn.Linear, node_to_exclude=nn.Linear)


# -- fn_if_not_exist -----------------------------------------------------------------------------
class Speaker(nn.Module):
    def __init__(self, log):
        self.log = log

    def speak(self):
        self.log.append("spoke")


def _speakers(log):
    return nn.Sequential(Speaker(log), nn.Sequential(nn.ReLU()))


def test_missing_method_raises_naming_the_path():
    with pytest.raises(bc.InputError, match=r"ReLU at path 'layers\.1\.layers\.0' has no method 'speak'.*"
                                            r"Fix:.*fn_if_not_exist='pass'"):
        nn.call_all_fns(_speakers([]), "speak")


@pytest.mark.parametrize("mode", ["pass", "none"])
def test_missing_method_skipped_silently(mode, recwarn):
    log = []
    nn.call_all_fns(_speakers(log), "speak", fn_if_not_exist=mode)
    assert log == ["spoke"] and not recwarn.list


def test_missing_method_skipped_with_a_warning():
    log = []
    with pytest.warns(UserWarning, match=r"Sequential at path '\(the root\)' has no method 'speak'; skipped"):
        nn.call_all_fns(_speakers(log), "speak", fn_if_not_exist="warn")
    assert log == ["spoke"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(fn_if_not_exist="ignore"), r"fn_if_not_exist='ignore' is not one of \['raise', 'pass', 'none', 'warn'\]"),
    (dict(kwargs=[("a", 1)]), r"kwargs must be a mapping of keyword arguments, got list"),
])
def test_call_all_fns_checks_its_options(kwargs, match):
    with pytest.raises(bc.ConfigError, match=match):
        nn.call_all_fns(_speakers([]), "speak", **kwargs)


def test_call_all_fns_refuses_a_non_string_name_and_a_non_method():
    with pytest.raises(bc.ConfigError, match=r"fn_name must be a method name \(a str\), got 3"):
        nn.call_all_fns(nn.ReLU(), 3)
    with pytest.raises(bc.InputError, match=r"Speaker\.log at path '\(the root\)' is list, not a method"):
        nn.call_all_fns(Speaker([]), "log")


# -- keywords of init_all_states / reset_all_states ----------------------------------------------
class Sized(nn.Module):
    def init_state(self, size=1):  # no **kwargs: only the named keyword makes 'size' known
        self.set_state("x", jnp.zeros(size))


class SizedCell(nn.Dynamics):
    def init_state(self, batch_size=None, size=1):
        self.init_hidden("y", 0.0, batch_size)
        self.size_seen = size


class Free(nn.Module):
    def init_state(self, **kwargs):
        self.seen = kwargs


@pytest.mark.parametrize("fn", [nn.init_all_states, nn.reset_all_states])
def test_unknown_keyword_is_refused_by_name(fn):
    name = fn.__name__
    with pytest.raises(bc.InputError, match=rf"{name}\(\) got the keyword\(s\) \['bacth_size'\], which no "
                                            r"init_state or reset_state.*LIF.*known: \['batch_size'\].*Fix"):
        fn(nn.LIF(2), bacth_size=3)


def test_documented_keywords_are_forwarded():
    assert nn.init_all_states(nn.Linear(2, 3), batch_size=4) is not None   # batch_size: always known
    net = nn.Sequential(nn.LIF(2), Sized())
    nn.init_all_states(net, size=3)  # named by one module's init_state
    assert net[1].x.value.shape == (3,)
    cell = nn.Sequential(nn.LIF(2), SizedCell(2))
    nn.init_all_states(cell, size=2)
    nn.reset_all_states(cell, size=3)   # Dynamics.reset_state forwards to init_state, which names it
    assert cell[1].size_seen == 3
    free = nn.init_all_states(nn.Sequential(Free(), nn.LIF(1)), anything=1)  # user **kwargs may read any keyword
    assert free[0].seen == {"anything": 1}


def test_keywords_of_excluded_modules_do_not_count():
    with pytest.raises(bc.InputError, match=r"\['size'\]"):
        nn.init_all_states(nn.Sequential(nn.Linear(1, 1), Sized()), size=3, exclude=Sized)


# -- vmap'd calls --------------------------------------------------------------------------------
class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = bc.ParamState(jnp.ones(4))        # leading axis 4 == axis_size below: must stay as it is
        self.drift = bc.ShortTermState(jnp.zeros(3))

    def init_state(self, batch_size=None, **kwargs):
        self.set_state("x", R.randn(3))

    def reset_state(self, batch_size=None, **kwargs):
        self.x.value = R.randn(3)                  # a direct write
        self.set_state("z", R.uniform(size=2))     # a State made (or re-made) by set_state
        self.drift.value = R.randn(3)              # a direct write to a State without a lane axis


def _distinct_rows(x):
    rows = np.asarray(x).reshape(x.shape[0], -1).round(6)
    return len({tuple(r) for r in rows})


def test_vmap_reset_all_states_draws_per_lane_and_keeps_state_objects():
    m = nn.vmap_init_all_states(Noisy(), axis_size=4)
    x, before = m.x, np.asarray(m.x.value)
    assert nn.vmap_reset_all_states(m, axis_size=4, state_tag="lane") is m
    assert m.x is x and x.value.shape == (4, 3) and m.z.value.shape == (4, 2) and m.drift.value.shape == (4, 3)
    for value in (m.x.value, m.z.value, m.drift.value):
        assert _distinct_rows(value) == 4
    assert not np.allclose(before, np.asarray(x.value))
    assert m.w.value.shape == (4,) and bool(jnp.all(m.w.value == 1.0))
    assert m.z.tag == "lane"
    z = m.z
    nn.vmap_reset_all_states(m, axis_size=4)
    assert m.z is z and m.x is x and _distinct_rows(z.value) == 4
    assert set(m.states()) == {("w",), ("drift",), ("x",), ("z",)}


def test_a_failing_vmapped_reset_leaves_the_states_in_place():
    class Fails(nn.Module):
        def init_state(self):
            self.set_state("x", jnp.arange(3.0))

        def reset_state(self):
            self.set_state("x", R.randn(3))
            raise RuntimeError("reset failed")

    m = nn.vmap_init_all_states(Fails(), axis_size=2)
    x, before = m.x, np.asarray(m.x.value)
    with pytest.raises(RuntimeError, match="reset failed"):
        nn.vmap_reset_all_states(m, axis_size=2)
    assert m.x is x and m.states() == {("x",): x}
    np.testing.assert_array_equal(np.asarray(x.value), before)


def test_vmap_reset_all_states_of_neurons_keeps_the_lane_axis():
    with bc.environ.context(dt=0.1):
        lif = nn.vmap_init_all_states(nn.LIF(3), axis_size=5)
        v = lif.V
        v.value = v.value + 1.0
        nn.vmap_reset_all_states(lif, axis_size=5)
    assert lif.V is v and v.value.shape == (5, 3) and bool(jnp.all(v.value == 0.0))


def test_vmap_reset_all_states_checks_keywords_and_axis_size():
    with pytest.raises(bc.InputError, match=r"vmap_reset_all_states\(\) got the keyword\(s\) \['seed'\]"):
        nn.vmap_reset_all_states(nn.LIF(2), axis_size=2, seed=1)
    for bad in (None, 0, -2, True, 2.0):
        with pytest.raises(bc.ConfigError, match=r"vmap_reset_all_states\(\)|vmap_call_all_fns\(\) needs axis_size="):
            nn.vmap_reset_all_states(Noisy(), axis_size=bad)


def test_vmap_call_all_fns_creates_tagged_per_lane_states_and_excludes():
    class Maker(nn.Module):
        def make(self, n):
            self.set_state("y", R.randn(n))

    net = nn.Sequential(Maker(), Maker())
    nn.vmap_call_all_fns(net, "make", 2, axis_size=3, state_tag="made", fn_if_not_exist="pass",
                         node_to_exclude=lambda p, m: p == ("layers", 1))
    assert net[0].y.value.shape == (3, 2) and net[0].y.tag == "made" and _distinct_rows(net[0].y.value) == 3
    assert "y" not in vars(net[1])
    with pytest.raises(bc.InputError, match=r"has no method 'make'"):
        nn.vmap_call_all_fns(net, "make", 2, axis_size=3)


# -- assign_state_values -------------------------------------------------------------------------
def _net():
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))


@pytest.mark.parametrize("dotted", [True, False])
def test_assign_state_values_round_trip(dotted):
    source, target = _net(), _net()
    values = {(".".join(map(str, p)) if dotted else p): s.value for p, s in source.states().items()}
    assert nn.assign_state_values(target, values) == ([], [])
    for path, state in target.states().items():
        for a, b in zip(jax.tree.leaves(state.value), jax.tree.leaves(source.states()[path].value)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_assign_state_values_reports_unexpected_and_missing_keys_and_later_dicts_win():
    net = _net()
    w0 = net.states()[("layers", 0, "weight")].value
    first = {"layers.0.weight": jax.tree.map(jnp.zeros_like, w0), "zzz": 1.0}
    second = {("layers", 0, "weight"): jax.tree.map(jnp.ones_like, w0), ("extra", 0): 2.0}
    unexpected, missing = nn.assign_state_values(net, first, second)
    assert unexpected == [("extra", 0), "zzz"] and missing == [("layers", 2, "weight")]
    assert all(bool(jnp.all(leaf == 1.0)) for leaf in jax.tree.leaves(net[0].weight.value))


@pytest.mark.parametrize("bad", ["shape", "structure"])
def test_assign_state_values_refuses_mismatches_naming_the_path_and_changes_nothing(bad):
    net = _net()
    good = jax.tree.map(jnp.zeros_like, net[0].weight.value)
    wrong = {"weight": jnp.zeros((3, 3)), "bias": jnp.zeros(3)} if bad == "shape" else jnp.zeros((2, 3))
    before = jax.tree.map(np.asarray, net[0].weight.value)
    with pytest.raises(bc.StateShapeError, match=r"the value for 'layers\.2\.weight' has shape .* but the State "
                                                 r"there holds .*Fix"):
        nn.assign_state_values(net, {"layers.0.weight": good, "layers.2.weight": wrong})
    for a, b in zip(jax.tree.leaves(net[0].weight.value), jax.tree.leaves(before)):
        np.testing.assert_array_equal(np.asarray(a), b)  # the valid entry was not written either


def test_assign_state_values_refuses_a_non_mapping():
    with pytest.raises(bc.ConfigError, match=r"takes dicts of path -> value, got list"):
        nn.assign_state_values(_net(), [("a", 1)])


# -- EnvironContext ------------------------------------------------------------------------------
class Probe(nn.Module):
    def update(self, x=0.0):
        return x + nn._dynamics.get_dt(), bc.environ.get("fit", default=None)


def test_environ_context_sets_dt_and_fit_inside_only():
    wrapped = nn.EnvironContext(Probe(), dt=0.25, fit=True)
    assert wrapped(1.0) == (1.25, True)
    assert bc.environ.get("fit", default=None) is None
    assert wrapped(context={"fit": False, "dt": 0.5}) == (0.5, False)   # the call's settings win
    wrapped.add_context(fit=False)
    assert wrapped()[1] is False and wrapped.context == {"dt": 0.25, "fit": False}


def test_environ_context_runs_a_neuron_with_its_dt():
    lif = nn.init_all_states(nn.EnvironContext(nn.LIF(1, tau=10.0, V_th=100.0), dt=1.0))
    out = lif.layer
    lif(10.0)
    v1 = float(out.V.value[0])
    with bc.environ.context(dt=1.0):
        ref = nn.init_all_states(nn.LIF(1, tau=10.0, V_th=100.0))
        ref(10.0)
    assert v1 == pytest.approx(float(ref.V.value[0])) and v1 > 0


def test_environ_context_checks_its_arguments():
    with pytest.raises(bc.ConfigError, match=r"EnvironContext wraps a brainstate.nn.Module, got function.*Fix"):
        nn.EnvironContext(lambda x: x, dt=0.1)
    with pytest.raises(bc.EnvironValueError, match=r"'platform' is a process-wide setting"):
        nn.EnvironContext(Probe(), platform="cpu")
    with pytest.raises(bc.EnvironValueError):
        nn.EnvironContext(Probe()).add_context(precision=3)


# -- Vmap ----------------------------------------------------------------------------------------
class Accumulator(nn.Module):
    def init_state(self, batch_size=None, **kwargs):
        self.set_state("total", jnp.zeros(2) if batch_size is None else jnp.zeros((batch_size, 2)))

    def update(self, x):
        self.total.value = self.total.value + x
        return self.total.value * 2.0


def test_vmap_equals_a_python_loop_over_the_batch():
    lin = nn.Linear(3, 2)
    xs = R.randn(6, 3)
    out = nn.Vmap(lin)(xs)
    np.testing.assert_allclose(np.asarray(out), np.stack([np.asarray(lin(x)) for x in xs]), rtol=1e-6)
    w = nn.Vmap(lin, in_axes=1, out_axes=1)(xs.T)
    np.testing.assert_allclose(np.asarray(w), np.asarray(out).T, rtol=1e-6)


@pytest.mark.parametrize("spec", [bc.HiddenState, {0: bc.HiddenState}, {bc.HiddenState: 0}, {0: "acc"}])
def test_vmap_batches_the_modules_states_made_after_wrapping(spec):
    acc = Accumulator()
    wrapped = nn.Vmap(acc, vmap_states=spec)
    nn.init_all_states(wrapped, batch_size=4)
    acc.total.tag = "acc"
    xs = R.randn(4, 2)
    out = wrapped(xs)
    loop = [Accumulator() for _ in range(4)]
    expected = []
    for cell, x in zip(loop, xs):
        nn.init_all_states(cell)
        expected.append(np.asarray(cell(x)))
    np.testing.assert_allclose(np.asarray(out), np.stack(expected), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(acc.total.value), np.asarray(xs), rtol=1e-6)


def test_vmap_without_declared_states_refuses_per_lane_writes():
    acc = nn.init_all_states(Accumulator())
    with pytest.raises(bc.BatchAxisError, match=r"differs per vmap lane"):
        nn.Vmap(acc)(jnp.ones((3, 2)))


def test_vmap_checks_its_arguments():
    with pytest.raises(bc.ConfigError, match=r"Vmap wraps a brainstate.nn.Module, got int"):
        nn.Vmap(3)
    with pytest.raises(bc.ConfigError, match=r"vmap_states maps axes to state filters, got the entry 'a': 'b'"):
        nn.Vmap(nn.ReLU(), vmap_states={"a": "b"})


# -- Map -----------------------------------------------------------------------------------------
class Walker(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = bc.ParamState(jnp.full((2,), 2.0))

    def init_state(self, start=None, **kwargs):
        self.pos = bc.HiddenState(R.randn(2) if start is None else jnp.full((2,), start))
        self.set_state("vel", R.uniform(size=2), bc.ShortTermState)

    def reset_state(self, **kwargs):
        self.pos.value = R.randn(2)

    def update(self, step):
        self.pos.value = self.pos.value + step * self.vel.value
        return self.pos.value * self.scale.value

    def energy(self):
        return jnp.sum(self.vel.value ** 2)


def test_map_makes_per_lane_states_and_equals_a_python_loop():
    walkers = nn.Map(Walker(), init_map_size=3)
    nn.init_all_states(walkers)
    inner = walkers.module
    pos0, vel = np.asarray(inner.pos.value), np.asarray(inner.vel.value)
    assert pos0.shape == (3, 2) and vel.shape == (3, 2) and _distinct_rows(pos0) == 3
    assert inner.scale.value.shape == (2,)  # made outside init_state: shared by the lanes
    steps = R.randn(3, 2)
    out = walkers(steps)
    expected = (pos0 + np.asarray(steps) * vel) * 2.0
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(inner.pos.value), pos0 + np.asarray(steps) * vel, rtol=1e-5)
    energy = walkers.map("energy", in_axes=())()
    np.testing.assert_allclose(np.asarray(energy), (vel ** 2).sum(axis=1), rtol=1e-5)
    groups = walkers.dict_vmap_states
    assert list(groups) == [0] and {id(s) for s in groups[0]} == {id(inner.pos), id(inner.vel)}


def test_map_reset_and_reinit_are_per_lane_and_keep_state_objects():
    walkers = nn.init_all_states(nn.Map(Walker(), init_map_size=4, state_tag="lanes"))
    inner = walkers.module
    pos, vel = inner.pos, inner.vel
    assert vel.tag == "lanes"
    before = np.asarray(pos.value)
    nn.reset_all_states(walkers)
    assert inner.pos is pos and pos.value.shape == (4, 2) and _distinct_rows(pos.value) == 4
    assert not np.allclose(before, np.asarray(pos.value))
    walkers.init_all_states(start=1.5)
    assert inner.vel is vel and vel.value.shape == (4, 2)
    assert inner.pos.value.shape == (4, 2) and bool(jnp.all(inner.pos.value == 1.5))
    assert {id(s) for s in walkers.dict_vmap_states[0]} == {id(inner.pos), id(vel)}  # the replaced pos is dropped
    walkers(jnp.zeros((4, 2)))


def test_map_inside_a_network_is_initialised_per_lane():
    net = nn.Sequential(nn.Linear(2, 2), nn.Map(Walker(), init_map_size=2))
    nn.init_all_states(net, start=0.0)   # 'start' is named by the wrapped module's init_state
    assert net[1].module.pos.value.shape == (2, 2)


def test_map_init_state_axes_put_the_lane_axis_elsewhere():
    on_vel = lambda path, s: path[-1] == "vel"  # noqa: E731 - a path filter
    walkers = nn.init_all_states(nn.Map(Walker(), init_map_size=3, init_state_axes={1: on_vel}, in_axes=1))
    inner = walkers.module
    assert inner.vel.value.shape == (2, 3) and inner.pos.value.shape == (3, 2)
    vel, pos0 = np.asarray(inner.vel.value), np.asarray(inner.pos.value)
    out = walkers(jnp.ones((2, 3)))
    np.testing.assert_allclose(np.asarray(out), (pos0 + vel.T) * 2.0, rtol=1e-5)


def test_map_with_pmap_over_the_local_devices():
    n = jax.local_device_count()
    walkers = nn.init_all_states(nn.Map(Walker(), init_map_size=n, behavior="pmap"))
    assert walkers.module.pos.value.shape == (n, 2)
    assert walkers(jnp.zeros((n, 2))).shape == (n, 2)


def test_map_checks_its_arguments_and_its_initialisation():
    with pytest.raises(bc.StateUsageError, match=r"Map has no per-lane States yet.*init_all_states"):
        nn.Map(Walker(), init_map_size=2)(jnp.ones((2, 2)))
    with pytest.raises(bc.ConfigError, match=r"Map behavior='shard' is not 'vmap' or 'pmap'"):
        nn.Map(Walker(), init_map_size=2, behavior="shard")
    with pytest.raises(bc.ConfigError, match=r"Map\(\) needs init_map_size=, the number of lanes"):
        nn.Map(Walker(), init_map_size=0)
    with pytest.raises(bc.ConfigError, match=r"Map wraps a brainstate.nn.Module"):
        nn.Map(object(), init_map_size=2)
    walkers = nn.init_all_states(nn.Map(Walker(), init_map_size=2))
    with pytest.raises(bc.ConfigError, match=r"Walker has no method 'fly'"):
        walkers.map("fly")


def test_map_in_jit_matches_eager():
    walkers = nn.init_all_states(nn.Map(Walker(), init_map_size=3))
    pos0 = np.asarray(walkers.module.pos.value)
    step = T.jit(lambda x: walkers(x))
    step(jnp.ones((3, 2)))
    step(jnp.ones((3, 2)))
    vel = np.asarray(walkers.module.vel.value)
    np.testing.assert_allclose(np.asarray(walkers.module.pos.value), pos0 + 2 * vel, rtol=1e-5)


# -- update-hook marks ---------------------------------------------------------------------------
MARKS = [
    (nn.receive_update_input, "_receive_update_input", True),
    (nn.not_receive_update_input, "_receive_update_input", False),
    (nn.receive_update_output, "_receive_update_output", True),
    (nn.not_receive_update_output, "_receive_update_output", False),
]


@pytest.mark.parametrize("mark, attr, value", MARKS)
@pytest.mark.parametrize("kind", ["function", "class", "module"])
def test_update_hook_marks_set_their_attribute(mark, attr, value, kind):
    obj = {"function": lambda *a: None, "class": type("Hook", (nn.Module,), {}), "module": nn.ReLU()}[kind]
    assert mark(obj) is obj and getattr(obj, attr) is value
    assert mark.__doc__.count(attr) >= 2


def test_update_hook_marks_are_inherited_and_can_be_overridden():
    @nn.receive_update_input
    class Base(nn.Module):
        pass

    @nn.not_receive_update_input
    class Child(Base):
        pass

    assert Base()._receive_update_input is True and Child()._receive_update_input is False
    assert Base._receive_update_input is True


@pytest.mark.parametrize("mark", [m for m, *_ in MARKS])
def test_update_hook_marks_refuse_objects_without_attributes(mark):
    with pytest.raises(bc.ConfigError, match=rf"(?s){mark.__name__}\(\) cannot mark .*Fix: mark a function"):
        mark(Walker().energy)


def test_public_names_are_exported_under_brainstate_nn():
    import brainstate

    for name in ("call_order", "call_all_fns", "vmap_call_all_fns", "vmap_reset_all_states", "assign_state_values",
                 "EnvironContext", "Vmap", "Map", "receive_update_input", "receive_update_output",
                 "not_receive_update_input", "not_receive_update_output"):
        assert getattr(brainstate.nn, name) is getattr(nn, name)
        assert not getattr(nn, name).__module__.startswith("brainstate_nn._")  # shown under its public home
