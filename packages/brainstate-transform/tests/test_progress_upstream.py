"""ProgressBar in upstream's forms: ``pbar=<int>``, ``count=``, ``desc=(format, function)``, with tqdm installed."""

import builtins

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_transform as T

pytest.importorskip("tqdm")


def test_int_pbar_is_a_progress_bar_of_that_frequency(capsys):
    ys = T.for_loop(lambda x: x * 2, jnp.arange(6.0), pbar=2)
    np.testing.assert_allclose(ys, jnp.arange(6.0) * 2)
    carry, _ = T.scan(lambda c, x: (c + x, None), 0.0, jnp.arange(6.0), pbar=3)
    assert float(carry) == 15.0
    assert "6/6" in capsys.readouterr().err  # tqdm writes the bar to stderr


def test_desc_pair_formats_the_carry_and_output_at_each_report(capsys):
    seen = []

    def describe(data):
        seen.append(sorted(data))
        return {"i": data["i"], "total": data["carry"], "y": data["y"]}

    bar = T.ProgressBar(freq=2, desc=("step {i} total {total:.1f} y {y:.1f}", describe))
    carry, ys = T.scan(lambda c, x: (c + x, x * 10), 0.0, jnp.arange(5.0), pbar=bar)
    assert float(carry) == 10.0
    assert seen[0] == ["carry", "i", "y"]
    assert bar.count == 5
    assert bar.description == "step 4 total 10.0 y 40.0"
    assert "step 4 total 10.0 y 40.0" in capsys.readouterr().err


def test_desc_pair_inside_jit_and_without_tqdm(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    bar = T.ProgressBar(count=2, desc=("at {i}", lambda d: {"i": d["i"]}))
    T.jit(lambda xs: T.for_loop(lambda x: x + 1, xs, pbar=bar))(jnp.arange(4.0))
    err = capsys.readouterr().err
    assert err.splitlines() == ["at 0: 1/4", "at 2: 3/4", "at 3: 4/4"]  # every 4 // count steps, and the last


# Pure JAX reports the same under its leak checker (jax 0.10.2 and 0.12.0): any jax.debug.callback in a
# scan body differentiated by jax.grad "leaks" JaxprTrace tracers, with no brainstate code involved.
@pytest.mark.skipif(bool(jax.config.values.get("jax_check_tracer_leaks")),
                    reason="JAX's leak checker flags every debug.callback in a scan under grad, even in pure JAX")
def test_checkpointed_loop_under_grad_reports_each_step_once():
    w = bc.ParamState(jnp.array(0.5))
    bar = T.ProgressBar(freq=1, disable=True)
    reports = []
    original = bar._report
    bar._report = lambda index, total, values: (reports.append(index), original(index, total, values))

    def loss():
        return T.checkpointed_scan(lambda c, x: (jnp.sin(c * w.value + x), None), 0.1, jnp.ones(9), base=2,
                                   pbar=bar)[0]

    T.grad(loss, grad_states=w)()
    assert bar.count == 9
    assert reports[:9] == list(range(9))  # recomputed steps in the backward pass are ignored after the end


@pytest.mark.parametrize("kwargs,match", [
    ({"desc": ("{i}",)}, "desc must be a string or a pair"),
    ({"desc": (1, lambda d: d)}, "desc must be a string or a pair"),
    ({"freq": 0}, "freq must be a positive integer"),
    ({"count": -1}, "count must be a positive integer"),
    ({"freq": 2, "count": 2}, "freq or count, not both"),
])
def test_progress_bar_options_are_checked(kwargs, match):
    with pytest.raises(bc.ConfigError, match=match):
        T.ProgressBar(**kwargs)


def test_desc_function_must_return_a_dict_and_pbar_must_be_a_bar_or_int():
    with pytest.raises(bc.ConfigError, match="must return a dict"):
        T.for_loop(lambda x: x, jnp.ones(2), pbar=T.ProgressBar(desc=("{i}", lambda d: d["i"])))
    with pytest.raises(bc.ConfigError, match="pbar must be a ProgressBar, an int"):
        T.for_loop(lambda x: x, jnp.ones(2), pbar=True)


def test_no_pbar_adds_no_callback():
    jaxpr = jax.make_jaxpr(lambda xs: T.for_loop(lambda x: x + 1, xs))(jnp.ones(3))
    assert "callback" not in str(jaxpr)


@pytest.mark.parametrize("calls", [1, 2])
def test_a_loop_writing_states_inside_jit_opens_its_bar_once_per_run(calls):
    # The loop first meets the written State while tracing and traces again; the aborted attempt's
    # start callback must not reach the program (it opened a second bar before the first step).
    s = bc.State(jnp.zeros(()))
    bar = T.ProgressBar(freq=5, disable=True)
    opened = []
    original = bar._open
    bar._open = lambda total: (opened.append(total), original(total))

    def body(x):
        s.value = s.value + x
        return x

    run = T.jit(lambda xs: T.for_loop(body, xs, pbar=bar))
    for _ in range(calls):
        run(jnp.arange(10.0))
    assert opened == [10] * calls and bar.count == 10 and float(s.value) == 45.0 * calls
