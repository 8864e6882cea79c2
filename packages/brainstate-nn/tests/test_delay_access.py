"""Delayed readers (DelayAccess, PrefetchDelayAt, OutputDelayAt, init_maybe_prefetch), the after-update hooks
of Dynamics, and InterpolationRegistry: each delayed read against the value recorded that many steps before."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT = 0.5
N_STEPS = 8
DRIVE = jnp.array([0.4, 1.1, 2.3])


def lif():
    return nn.LIF(3, tau=4.0, V_th=1.0, V_reset=0.0)


def simulate(neuron, readers, batch_size=None):
    """Run ``neuron`` for N_STEPS in a compiled for_loop; per step: V, the spikes and every reader (after the call)."""
    x = DRIVE if batch_size is None else DRIVE * jnp.arange(1, batch_size + 1)[:, None]  # lanes differ

    def step(i):
        spk = neuron(x)
        return neuron.V.value, spk, [r() for r in readers]

    return T.jit(lambda: T.for_loop(step, jnp.arange(N_STEPS)))()


def shifted(values, d, fill=0.0):
    """``values`` ``d`` steps back along the first axis, ``fill`` before the start."""
    values = np.asarray(values)
    out = np.full_like(values, fill)
    out[d:] = values[: len(values) - d] if d else values
    return out


# -- PrefetchDelayAt -------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [None, 2])
@pytest.mark.parametrize("d", [0, 1, 3])
@pytest.mark.parametrize("make", ["prefetch.delay.at", "PrefetchDelayAt", "prefetch_delay"])
def test_prefetch_delay_at_is_the_value_recorded_d_steps_earlier(make, d, batch_size):
    with bc.environ.context(dt=DT):
        neuron = lif()
        reader = {"prefetch.delay.at": lambda: neuron.prefetch("V").delay.at(d * DT),
                  "PrefetchDelayAt": lambda: nn.PrefetchDelayAt(neuron, "V", d * DT),
                  "prefetch_delay": lambda: neuron.prefetch_delay("V", d * DT)}[make]()
        assert isinstance(reader, nn.PrefetchDelayAt) and reader.steps == d
        nn.init_all_states(neuron, batch_size=batch_size)
        vs, spikes, (late,) = simulate(neuron, [reader], batch_size)
    assert float(np.asarray(spikes).sum()) > 0  # the neurons fire and reset: V is not monotone
    np.testing.assert_allclose(late, shifted(vs, d), rtol=1e-6)


def test_prefetch_delay_at_indices_init_and_no_delay():
    with bc.environ.context(dt=DT):
        neuron = nn.init_all_states(lif())
        lane = nn.PrefetchDelayAt(neuron, "V", 2 * DT, 1, delay_init=-65.0)
        whole = neuron.prefetch("V").delay.at(3 * DT)          # shares the history, so its init too
        now = nn.PrefetchDelayAt(neuron, "V")
        vs, _, (lane_v, whole_v, now_v) = simulate(neuron, [lane, whole, now])
    np.testing.assert_allclose(lane_v, shifted(vs, 2, -65.0)[:, 1], rtol=1e-6)
    np.testing.assert_allclose(whole_v, shifted(vs, 3, -65.0), rtol=1e-6)
    np.testing.assert_allclose(now_v, vs, rtol=1e-6)


def test_a_later_delay_init_refills_the_history():
    with bc.environ.context(dt=DT):
        neuron = nn.init_all_states(lif())
        plain = neuron.prefetch("V").delay.at(DT)
        assert float(plain()[0]) == 0.0
        nn.PrefetchDelayAt(neuron, "V", DT, delay_init=-70.0)
        assert plain().tolist() == [-70.0] * 3


@pytest.mark.parametrize("method, t, expected", [
    ("linear_interp", 1.5, lambda vs: (shifted(vs, 1) + shifted(vs, 2)) / 2),
    ("linear", 2.25, lambda vs: 0.75 * shifted(vs, 2) + 0.25 * shifted(vs, 3)),
    ("round", 1.4, lambda vs: shifted(vs, 1)),
    ("nearest", 2.6, lambda vs: shifted(vs, 3)),
])
def test_prefetch_delay_at_with_interpolation(method, t, expected):
    with bc.environ.context(dt=DT):
        neuron = nn.init_all_states(lif())
        reader = neuron.prefetch_delay("V", t * DT, interpolation=method)
        vs, _, (late,) = simulate(neuron, [reader])
    np.testing.assert_allclose(late, expected(np.asarray(vs)), rtol=1e-5, atol=1e-6)


# -- OutputDelayAt ---------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [None, 3])
@pytest.mark.parametrize("d", [0, 2])
@pytest.mark.parametrize("before_init", [True, False])
def test_output_delay_at_is_the_output_of_d_steps_earlier(d, batch_size, before_init):
    with bc.environ.context(dt=DT):
        neuron = lif()
        if before_init:
            reader = neuron.output_delay(d * DT)
            nn.init_all_states(neuron, batch_size=batch_size)
        else:
            nn.init_all_states(neuron, batch_size=batch_size)
            reader = nn.OutputDelayAt(neuron, d * DT)   # the module is initialised: the reader makes the buffer
        assert isinstance(reader, nn.OutputDelayAt)
        _, spikes, (late,) = simulate(neuron, [reader], batch_size)
    assert float(np.asarray(spikes).sum()) > 0
    np.testing.assert_array_equal(late, shifted(spikes, d))


def test_output_delay_at_interpolation_indices_and_a_shared_buffer():
    with bc.environ.context(dt=DT):
        neuron = lif()
        half = nn.OutputDelayAt(neuron, 1.5 * DT, 2, interpolation="linear_interp", delay_init=1.0)
        one = neuron.output_delay(DT)
        assert half.out_delay is one.out_delay and neuron._output_delay.max_steps == 2
        nn.init_all_states(neuron)
        _, spikes, (half_v, one_v) = simulate(neuron, [half, one])
    s = np.asarray(spikes)
    np.testing.assert_allclose(half_v, (shifted(s, 1, 1.0) + shifted(s, 2, 1.0))[:, 2] / 2)
    np.testing.assert_array_equal(one_v, shifted(s, 1, 1.0))


class Silent(nn.Dynamics):
    def init_state(self, batch_size=None, **kw):
        self.init_hidden("x", 0.0, batch_size)

    def update(self):
        self.x.value = self.x.value + 1.0


def test_output_delay_errors():
    with bc.environ.context(dt=DT):
        silent = nn.init_all_states(Silent(2))
        nn.OutputDelayAt(silent, DT)
        with pytest.raises(bc.InputError, match=r"Silent.update returned None.*Fix: return the output"):
            silent()
        neuron = nn.init_all_states(lif(), batch_size=2)
        reader = neuron.output_delay(DT)
        nn.init_all_states(reader.out_delay)  # no batch: the delay no longer fits the module's output
        with pytest.raises(bc.InputError, match=r"LIF.update returned shape \(2, 3\).*holds values of shape \(3,\)"):
            neuron(1.0)
        with pytest.raises(bc.ConfigError, match=r"delay_init=1\.0; the readers of one history share it"):
            neuron.output_delay(2 * DT, init=1.0)
            neuron.output_delay(2 * DT, init=2.0)


# -- DelayAccess -----------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [None, 2])
def test_delay_access_reads_the_entry_d_steps_back(batch_size):
    with bc.environ.context(dt=DT):
        delay = nn.Delay(jnp.zeros(3), entries={"x": 0.5})
        two = nn.DelayAccess(delay, 2 * DT, entry="two")
        lane = delay.access("lane", 3 * DT, 1)
        now = nn.DelayAccess(delay, None, entry="now")
        assert isinstance(lane, nn.DelayAccess) and delay.entries["two"] == two.delay_info == (2, 0.0)
        nn.init_all_states(delay, batch_size=batch_size)
        shape = (3,) if batch_size is None else (batch_size, 3)

        def step(i):
            value = jnp.full(shape, 1.0 + i) * jnp.arange(1.0, 4.0)
            delay.update(value)
            return value, two(), lane(), now()

        pushed, two_v, lane_v, now_v = T.jit(lambda: T.for_loop(step, jnp.arange(N_STEPS)))()
    np.testing.assert_allclose(two_v, shifted(pushed, 2))
    np.testing.assert_allclose(lane_v, shifted(pushed, 3)[:, 1])   # the index applies to the value (batch first)
    np.testing.assert_allclose(now_v, pushed)


# -- init_maybe_prefetch ---------------------------------------------------------------------------
def test_init_maybe_prefetch_makes_missing_buffers():
    with bc.environ.context(dt=DT):
        delay = nn.Delay(jnp.zeros(2))
        access = delay.access("one", DT)
        with pytest.raises(bc.InputError, match=r"no buffer yet"):
            access()
        nn.init_maybe_prefetch(access, batch_size=4)
        assert access().shape == (4, 2)
        delay.history.value = delay.history.value + 1.0
        nn.init_maybe_prefetch(access)                # the buffer exists: left as it is
        assert float(access()[0, 0]) == 1.0

        neuron = lif()
        v_late = neuron.prefetch_delay("V", DT)
        spikes_late = neuron.output_delay(DT)
        with pytest.raises(bc.InputError, match=r"LIF has no variable 'V' to prefetch"):
            nn.init_maybe_prefetch(v_late)
        neuron.init_state(5)                          # the module alone: not its output delay
        assert "history" not in neuron._output_delay.__dict__
        nn.init_maybe_prefetch(spikes_late)           # the module's batch size
        nn.init_maybe_prefetch(v_late)
        assert spikes_late().shape == v_late().shape == (5, 3)
        nn.init_maybe_prefetch(neuron.prefetch("V"))
        nn.init_maybe_prefetch(neuron.prefetch("V").delay)
        assert nn.init_maybe_prefetch(nn.Linear(2, 2)) is None and nn.init_maybe_prefetch(3) is None
        with pytest.raises(bc.InputError, match=r"no variable 'W'"):
            nn.init_maybe_prefetch(neuron.prefetch("W"))


# -- after-update hooks ----------------------------------------------------------------------------
def test_after_updates_get_the_output():
    got = []
    with bc.environ.context(dt=DT):
        neuron = nn.init_all_states(lif())
        log = got.append
        neuron.add_after_update("log", log)
        quiet = nn.not_receive_update_output(lambda: got.append("called"))
        neuron.add_after_update("quiet", quiet)
        neuron.add_after_update("log", log)           # the same function again: fine
        out = neuron(5.0)
        assert list(neuron.after_updates) == ["log", "quiet"]
        with pytest.raises(bc.ConfigError, match=r"already has an after-update 'log'.*Fix"):
            neuron.add_after_update("log", print)
    assert got[0] is out and got[1] == "called"


# -- InterpolationRegistry -------------------------------------------------------------------------
def spline(p0, p1, p2, p3, t):
    """The Catmull-Rom cubic between ``p1`` (t = 0) and ``p2`` (t = 1)."""
    return 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                  + (3 * p1 - p0 + p3 - 3 * p2) * t ** 3)


def catmull_rom(read, steps):
    """Cubic interpolation through the 4 steps around ``steps`` (a method of the registry); reads floor + 2 back."""
    low = math.floor(steps)
    return spline(read(low - 1), read(low), read(low + 1), read(low + 2), steps - low)


@pytest.fixture
def cubic():
    nn.InterpolationRegistry.register("test_cubic", catmull_rom, reach=2)
    yield "test_cubic"
    nn.InterpolationRegistry.unregister("test_cubic")


def cubic_reference(values, steps):
    """Catmull-Rom of the history ``values`` (newest last) at ``steps`` back, with numpy."""
    low, t = math.floor(steps), steps - math.floor(steps)
    return spline(*[values[len(values) - 1 - max(k, 0)] for k in (low - 1, low, low + 1, low + 2)], t)


@pytest.mark.parametrize("steps", [0.5, 1.5, 2.25])
def test_a_registered_method_is_used_by_a_delay_and_a_prefetch(cubic, steps):
    values = np.array([0.0, 1.0, 4.0, 9.0, 3.0, -2.0, 5.0, 7.0])
    with bc.environ.context(dt=DT):
        delay = nn.Delay(jnp.zeros(1), interp_method=cubic).register_entry("e", steps * DT)
        assert delay.max_steps == math.floor(steps) + 2   # the reach of the method
        delay = nn.init_all_states(delay)
        for v in values:
            delay.update(jnp.array([v]))
        np.testing.assert_allclose(delay.at("e")[0], cubic_reference(values, steps), rtol=1e-5)
        with bc.environ.context(t=1.0):
            np.testing.assert_allclose(delay.retrieve_at_time(1.0 - steps * DT)[0], cubic_reference(values, steps),
                                       rtol=1e-5)

        counter = nn.init_all_states(Silent(1))
        reader = counter.prefetch_delay("x", steps * DT, interpolation=cubic)
        for _ in range(6):
            counter()
        np.testing.assert_allclose(reader()[0], cubic_reference(np.arange(1.0, 7.0), steps), rtol=1e-5)


def test_registry_queries_and_built_ins():
    methods = nn.InterpolationRegistry.list_methods()
    assert {"round", "nearest", "linear_interp", "linear"} <= set(methods)
    assert nn.InterpolationRegistry.get("round") is nn.InterpolationRegistry.get("nearest")
    assert nn.InterpolationRegistry.reach("linear") == 1


def test_a_method_that_reads_beyond_its_reach_or_a_float_step_raises():
    nn.InterpolationRegistry.register("test_far", lambda read, steps: read(math.floor(steps) + 3))
    nn.InterpolationRegistry.register("test_float", lambda read, steps: read(steps))
    try:
        with bc.environ.context(dt=DT, t=3.0):
            far = nn.init_all_states(nn.Delay(jnp.zeros(1), time=3.0, interp_method="test_far"))
            with pytest.raises(bc.InputError, match=r"'test_far' read 4 steps back.*beyond its reach \(1: at most 2\)"):
                far.retrieve_at_time(2.25)
            flt = nn.init_all_states(nn.Delay(jnp.zeros(1), time=3.0, interp_method="test_float"))
            with pytest.raises(bc.InputError, match=r"'test_float' called read\(1\.5\); read takes a Python int"):
                flt.retrieve_at_time(2.25)
    finally:
        nn.InterpolationRegistry.unregister("test_far")
        nn.InterpolationRegistry.unregister("test_float")


@pytest.mark.parametrize("call, error, match", [
    (lambda: nn.InterpolationRegistry.register("round", lambda r, s: r(0)), bc.ConfigError,
     r"'round' is already registered. Fix: choose another name\.$"),
    (lambda: nn.InterpolationRegistry.register("", lambda r, s: r(0)), bc.ConfigError, r"non-empty strings"),
    (lambda: nn.InterpolationRegistry.register("x", 3), bc.ConfigError, r"'x' must be callable"),
    (lambda: nn.InterpolationRegistry.register("x", lambda r, s: r(0), reach=0), bc.ConfigError,
     r"reach must be an int >= 1"),
    (lambda: nn.InterpolationRegistry.unregister("linear"), bc.ConfigError, r"'linear' is built in"),
    (lambda: nn.InterpolationRegistry.unregister("nope"), bc.ConfigError, r"No delay interpolation method 'nope'"),
    (lambda: nn.InterpolationRegistry.get("cubic"), bc.ConfigError, r"'cubic'; registered: \[.*'round'\].*register"),
    (lambda: nn.InterpolationRegistry(), bc.ConfigError, r"is not instantiated"),
    (lambda: nn.Delay(jnp.zeros(1), interp_method="cubic"), bc.ConfigError, r"interp_method must be one of"),
])
def test_registry_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_registering_the_same_method_twice_is_fine_and_another_one_raises(cubic):
    nn.InterpolationRegistry.register(cubic, catmull_rom, reach=2)
    with pytest.raises(bc.ConfigError, match=r"'test_cubic' is already registered.*or unregister it first"):
        nn.InterpolationRegistry.register(cubic, catmull_rom, reach=3)


# -- bad readers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda n: nn.PrefetchDelayAt(n, "V", 0.3), r"The delay 0.3 ms of LIF.V is not a multiple of dt = 0.5 ms"
                                                r".*interpolation='round'"),
    (lambda n: nn.PrefetchDelayAt(n, "V", -1.0), r"LIF.V delay must be a concrete time >= 0"),
    (lambda n: nn.PrefetchDelayAt(n, "V", 1.0, 0.5), r"must be integers, got 0.5"),
    (lambda n: nn.PrefetchDelayAt(n, "V", 1.0, interpolation="cubic"), r"No delay interpolation method 'cubic'"),
    (lambda n: nn.PrefetchDelayAt(n, "V", delay_init=1.0), r"delay_init without a delay time"),
    (lambda n: nn.PrefetchDelayAt(n, "V", 1.0, delay_init=lambda s, d: 0), r"delay_init must be a number"),
    (lambda n: nn.PrefetchDelayAt(nn.Linear(2, 2), "V", 1.0), r"module must be a brainstate.nn.Dynamics"),
    (lambda n: nn.PrefetchDelayAt(n, 3, 1.0), r"item must be a variable name"),
    (lambda n: (nn.PrefetchDelayAt(n, "V", 1.0, delay_init=1.0), nn.PrefetchDelayAt(n, "V", 1.0, delay_init=2.0)),
     r"another reader of the same history set delay_init=1.0"),
    (lambda n: nn.OutputDelayAt(n), r"OutputDelayAt of LIF needs a delay time"),
    (lambda n: nn.OutputDelayAt(n, 0.7), r"The output delay 0.7 ms of LIF is not a multiple"),
    (lambda n: nn.OutputDelayAt(nn.Delay(jnp.zeros(1)), 1.0), r"OutputDelayAt module must be a brainstate.nn.Dynamics"),
    (lambda n: nn.DelayAccess(n, 1.0, entry="e"), r"DelayAccess delay must be a brainstate.nn.Delay"),
    (lambda n: nn.DelayAccess(nn.Delay(jnp.zeros(1)), entry="e"), r"DelayAccess needs a delay time"),
    (lambda n: nn.DelayAccess(nn.Delay(jnp.zeros(2)), jnp.array([1.0, 2.0]), entry="e"),
     r"must be one time \(ms\), got an array of shape \(2,\).*retrieve_at_step"),
    (lambda n: nn.DelayAccess(nn.Delay(jnp.zeros(1)), 0.7, entry="e"), r"0.7 ms is not a multiple.*interp_method"),
])
def test_bad_readers_raise(make, match):
    with bc.environ.context(dt=DT):
        neuron = nn.init_all_states(lif())
        with pytest.raises(bc.ConfigError, match=match):
            make(neuron)
