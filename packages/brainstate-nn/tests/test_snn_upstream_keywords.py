"""Upstream brainstate's keyword names on the spiking constructors: Delay, EventLinear, the sparse layers."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as bt

# -- Delay: target_info ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", [(3,), jnp.zeros((2, 2)), jnp.zeros(4, jnp.int32)])
def test_delay_target_info_is_target(target):
    with bc.environ.context(dt=1.0):
        a = nn.init_all_states(nn.Delay(target, time=2.0))
        b = nn.init_all_states(nn.Delay(target_info=target, time=2.0))
    assert a.history.value.shape == b.history.value.shape
    assert a.history.value.dtype == b.history.value.dtype


def test_delay_target_and_target_info_conflict():
    with bc.environ.context(dt=1.0), pytest.raises(bc.ConfigError, match="both target and target_info"):
        nn.Delay(jnp.zeros(2), target_info=jnp.zeros(2))


def test_delay_default_target_is_scalar():
    with bc.environ.context(dt=1.0):
        d = nn.init_all_states(nn.Delay(time=1.0))
    assert d.history.value.shape == (2,)


# -- Delay: delay_method ------------------------------------------------------------------------------

_STEPS = 30


def _run(method, batch, interp, lanes_steps):
    """Push 30 values and read, after each push, every entry, two fixed step delays and per-lane steps."""
    with bc.environ.context(dt=0.5):
        d = nn.Delay(jnp.zeros(3), entries={"now": 0.0, "one": 0.5, "three": 1.5}, init=-1.0,
                     interp_method=interp, delay_method=method)
        if interp is not None:
            d.register_entry("half", 1.25)
        d = nn.init_all_states(d, batch_size=batch)
        d.register_entry("seven", 3.5)  # grows the buffer after it was made
        reads = []
        for k in range(_STEPS):
            d.update(jnp.arange(3.0) + 10.0 * k)
            row = [d.at(e) for e in sorted(d.entries)]
            with bc.environ.context(t=0.5 * k):  # the time of this push; 3 ms before it
                row += [d.retrieve_at_step(2), d.retrieve_at_step(5, 1), d.retrieve_at_time(0.5 * k - 3.0)]
            if batch is None:
                row.append(d.retrieve_at_step(jnp.asarray(lanes_steps)))
            reads.append(row)
    return reads


@pytest.mark.parametrize("batch", [None, 2])
@pytest.mark.parametrize("interp", [None, "linear_interp"])
def test_delay_concat_equals_rotation(batch, interp):
    lanes = [0, 4, 7]
    rot, cat = _run("rotation", batch, interp, lanes), _run("concat", batch, interp, lanes)
    for r_row, c_row in zip(rot, cat, strict=True):
        for r, c in zip(r_row, c_row, strict=True):
            np.testing.assert_array_equal(np.asarray(r), np.asarray(c))
    # and both against the hand-computed history: value k is arange(3) + 10 k, before it -1
    def past(k, s):
        return np.arange(3.0) + 10.0 * (k - s) if k - s >= 0 else np.full(3, -1.0)
    for k in (0, 3, 29):
        names = sorted(["now", "one", "three", "seven"] + (["half"] if interp else []))
        expected = {"now": 0, "one": 1, "three": 3, "seven": 7}
        for name, got in zip(names, cat[k], strict=False):
            if name == "half":  # 2.5 steps: halfway between 2 and 3 steps ago
                want = (past(k, 2) + past(k, 3)) / 2
            else:
                want = past(k, expected[name])
            np.testing.assert_allclose(np.asarray(got), np.broadcast_to(want, np.shape(got)))
        if batch is None:
            np.testing.assert_array_equal(np.asarray(cat[k][-1]), [past(k, s)[i] for i, s in enumerate(lanes)])


@pytest.mark.parametrize("method", ["rotate", "Concat", None])
def test_delay_method_refused(method):
    with pytest.raises(bc.ConfigError, match=r"delay_method must be one of \('rotation', 'concat'\)"):
        nn.Delay(jnp.zeros(2), delay_method=method)


def test_delay_method_passed_as_interp_method_is_explained():
    with pytest.raises(bc.ConfigError, match=r"'concat' is a delay_method: pass it by keyword"):
        nn.Delay(jnp.zeros(2), None, 0.0, None, "concat")


def test_delay_concat_under_jit():
    import brainstate_transform as bt

    with bc.environ.context(dt=1.0):
        d = nn.init_all_states(nn.Delay(jnp.zeros(2), time=3.0, delay_method="concat"))

        @bt.jit
        def step(x):
            d.update(x)
            return d.retrieve_at_step(3)

        outs = [step(jnp.full(2, float(k))) for k in range(6)]
    np.testing.assert_array_equal(np.asarray(outs)[:, 0], [0, 0, 0, 0, 1, 2])


# -- Delay: take_aware_unit ---------------------------------------------------------------------------


def test_delay_take_aware_unit():
    u = pytest.importorskip("brainunit")
    with bc.environ.context(dt=1.0):
        d = nn.init_all_states(nn.Delay(jnp.zeros(2), time=2.0, take_aware_unit=True))
        d.update(jnp.array([1.0, 2.0]) * u.mV)
        d.update(jnp.array([0.003, 0.004]) * u.volt)  # converted to the first unit, mV
        late, now = d.retrieve_at_step(1), d.retrieve_at_step(0)
    assert isinstance(late, u.Quantity) and late.unit == u.mV
    np.testing.assert_allclose(np.asarray(late.mantissa), [1.0, 2.0])
    np.testing.assert_allclose(np.asarray(now.to_decimal(u.mV)), [3.0, 4.0], rtol=1e-6)


def test_delay_quantity_needs_take_aware_unit():
    u = pytest.importorskip("brainunit")
    with bc.environ.context(dt=1.0):
        d = nn.init_all_states(nn.Delay(jnp.zeros(2), time=1.0))
        with pytest.raises(bc.InputError, match="take_aware_unit=True"):
            d.update(jnp.ones(2) * u.mV)
        e = nn.init_all_states(nn.Delay(jnp.zeros(2), time=1.0, take_aware_unit=True))
        e.update(jnp.ones(2) * u.mV)
        with pytest.raises(bc.InputError, match="one physical dimension"):
            e.update(jnp.ones(2) * u.ms)


def test_delay_plain_values_with_take_aware_unit_stay_plain():
    with bc.environ.context(dt=1.0):
        d = nn.init_all_states(nn.Delay(jnp.zeros(2), time=1.0, take_aware_unit=True))
        d.update(jnp.ones(2))
    assert isinstance(d.retrieve_at_step(0), jnp.ndarray)


# -- EventLinear ------------------------------------------------------------------------------------

_W = np.arange(12.0, dtype=np.float32).reshape(4, 3) - 5.0


@pytest.mark.parametrize("x", [[0.5, 0.0, -2.0, 0.0], [[1.0, 0.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0]]])
@pytest.mark.parametrize("float_as_event", [True, False])
def test_event_linear_float_as_event(x, float_as_event):
    x = np.asarray(x, np.float32)
    layer = nn.EventLinear(4, 3, weight=jnp.asarray(_W), float_as_event=float_as_event)
    want = ((x != 0).astype(np.float32) if float_as_event else x) @ _W
    np.testing.assert_allclose(np.asarray(layer(jnp.asarray(x))), want, rtol=1e-6)


@pytest.mark.parametrize("block_size", [1, 7, 64, 4096])
def test_event_linear_block_size_changes_nothing(block_size):
    x = jnp.asarray([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
    ref = nn.EventLinear(4, 3, weight=jnp.asarray(_W))
    layer = nn.EventLinear(4, 3, weight=jnp.asarray(_W), block_size=block_size)
    np.testing.assert_array_equal(np.asarray(layer(x)), np.asarray(ref(x)))
    assert layer.block_size == block_size


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"block_size": 0}, "block_size must be a positive int"),
    ({"block_size": 2.5}, "block_size must be a positive int"),
    ({"chunk": True}, "float_as_event, is a keyword here"),
    ({"param_type": int}, "EventLinear param_type must be a State class"),
])
def test_event_linear_refuses(kwargs, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        nn.EventLinear(4, 3, weight=jnp.asarray(_W), **kwargs)


class _MyParam(bc.ParamState):
    pass


@pytest.mark.parametrize("param_type", [bc.ParamState, _MyParam, bc.ShortTermState])
def test_event_linear_param_type(param_type):
    layer = nn.EventLinear(4, 3, weight=jnp.asarray(_W), param_type=param_type)
    assert type(layer.weight) is param_type


# -- sparse layers: afferent_ratio, conn_init, param_type ---------------------------------------------

def _pairs(conn):
    return sorted(zip(conn.pre.tolist(), conn.post.tolist(), strict=True))


def _fixed_num(**kw):
    return nn.FixedNumConn(40, 30, 4, seed=5, **kw)


def _fixed_prob(**kw):
    return nn.EventFixedProb(40, 30, 0.2, seed=5, **kw)


@pytest.mark.parametrize("make", [_fixed_num, _fixed_prob])
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.8])
def test_afferent_ratio_keeps_the_chosen_rows(make, ratio):
    full, part = make(), make(afferent_ratio=ratio)
    assert part.pre_selected.shape == (40,)
    want = [p for p in _pairs(full) if part.pre_selected[p[0]]]
    assert _pairs(part) == want
    x = jnp.asarray(np.random.default_rng(0).random(40) < 0.5, jnp.float32)
    np.testing.assert_allclose(np.asarray(part(x)), np.asarray(x) @ np.asarray(part.to_dense()), rtol=1e-6)
    if ratio == 0.0:
        assert part.n_synapses == 0


def test_afferent_ratio_on_targets_for_pre():
    full = nn.FixedNumConn(30, 40, 3, efferent_target="pre", seed=2)
    part = nn.FixedNumConn(30, 40, 3, efferent_target="pre", seed=2, afferent_ratio=0.5)
    assert _pairs(part) == [p for p in _pairs(full) if part.pre_selected[p[1]]]
    assert set(np.bincount(part.post, minlength=40).tolist()) <= {0, 3}


@pytest.mark.parametrize("make", [_fixed_num, _fixed_prob])
def test_afferent_ratio_one_is_the_default(make):
    assert _pairs(make(afferent_ratio=1.0)) == _pairs(make())
    assert make().pre_selected.all()


def test_event_fixed_num_conn_is_fixed_num_conn():
    a = nn.EventFixedNumConn(40, 30, 4, 0.5, afferent_ratio=0.6, seed=9)
    b = nn.FixedNumConn(40, 30, 4, 0.5, allow_multi_conn=True, seed=9, afferent_ratio=0.6)
    assert _pairs(a) == _pairs(b)
    np.testing.assert_array_equal(a.pre_selected, b.pre_selected)


@pytest.mark.parametrize("make", [_fixed_num, _fixed_prob])
@pytest.mark.parametrize("ratio", [-0.1, 1.5, True])
def test_afferent_ratio_refused(make, ratio):
    with pytest.raises(bc.ConfigError, match="afferent_ratio must be in"):
        make(afferent_ratio=ratio)


@pytest.mark.parametrize("make", [_fixed_num, _fixed_prob])
def test_conn_init_has_no_effect(make):
    assert _pairs(make(conn_init="for_loop")) == _pairs(make(conn_init="vmap"))
    with pytest.raises(bc.ConfigError, match="conn_init must be 'vmap' or 'for_loop'"):
        make(conn_init="scan")


@pytest.mark.parametrize("make", [_fixed_num, _fixed_prob])
@pytest.mark.parametrize("param_type", [_MyParam, bc.ShortTermState])
def test_sparse_param_type(make, param_type):
    conn = make(param_type=param_type, conn_weight=0.5)
    assert type(conn.weight) is param_type
    with pytest.raises(bc.ConfigError, match="param_type must be a State class"):
        make(param_type=float)


def _pushed_at_times(n: int, **kw):
    """A Delay (dt = 0.5 ms, 2 ms of history) that was pushed the value 10 * t at t = 0, 0.5, ..."""
    d = nn.init_all_states(nn.Delay(jnp.zeros(2), time=2.0, init=-1.0, **kw))
    for k in range(n):
        d.update(jnp.full(2, 5.0 * k))
    return d


@pytest.mark.parametrize("now, then, want", [(3.0, 3.0, 30.0), (3.0, 2.0, 20.0), (3.0, 1.0, 10.0),
                                             (0.5, 0.0, 0.0),     # early in the run: the first value
                                             (0.5, -1.0, -1.0)])  # before the run: the buffer's init
def test_retrieve_at_time_reads_the_value_at_an_absolute_time_as_upstream(now, then, want):
    with bc.environ.context(dt=0.5):
        d = _pushed_at_times(int(now / 0.5) + 1)
        with bc.environ.context(t=now):
            np.testing.assert_allclose(d.retrieve_at_time(then), [want, want])


@pytest.mark.parametrize("interp, then, want", [("round", 1.3, 15.0), ("linear_interp", 1.3, 13.0), (None, 1.0, 10.0)])
def test_retrieve_at_time_with_traced_times_in_a_loop_matches_the_eager_read(interp, then, want):
    with bc.environ.context(dt=0.5):
        d = _pushed_at_times(7, interp_method=interp)  # now: t = 3.0

        @bt.jit
        def read(now, then):
            with bc.environ.context(t=now):
                return d.retrieve_at_time(then)

        with bc.environ.context(t=3.0):
            eager = d.retrieve_at_time(then)
        np.testing.assert_allclose(read(3.0, then), eager, rtol=1e-6)
        np.testing.assert_allclose(eager, [want, want], rtol=1e-6)
        np.testing.assert_allclose(read(3.0, -10.0), [10.0, 10.0])  # before the history: its oldest (t = 1)


@pytest.mark.parametrize("context, then, error, match", [
    ({}, 1.0, bc.InputError, r"absolute time t and needs the current time, environ 't'.*environ.context\(t=\.\.\.\)"),
    ({"t": 1.0}, 2.0, bc.InputError, r"retrieve_at_time\(2\): that is after the current time 1 ms"),
    ({"t": 100.0}, 1.0, bc.InputError, r"outside the history of 4 steps.*at t = 100 ms: 99 ms ago"),
])
def test_retrieve_at_time_refuses_what_it_cannot_read(context, then, error, match):
    with bc.environ.context(dt=0.5):
        d = _pushed_at_times(3)
        with bc.environ.context(**context), pytest.raises(error, match=match):
            d.retrieve_at_time(then)


def test_a_traced_time_with_a_registered_method_says_to_use_an_entry():
    nn.InterpolationRegistry.register("test_older", lambda read, steps: read(math.ceil(steps)))
    try:
        with bc.environ.context(dt=0.5):
            d = _pushed_at_times(3, interp_method="test_older")

            @bt.jit
            def read(now):
                with bc.environ.context(t=now):
                    return d.retrieve_at_time(0.2)

            with pytest.raises(bc.ConfigError, match=r"'test_older' needs a concrete time.*at\(entry\)"):
                read(1.0)
    finally:
        nn.InterpolationRegistry.unregister("test_older")
