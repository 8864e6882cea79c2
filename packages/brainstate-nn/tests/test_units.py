"""Units: plain numbers follow ms / mV / nS / pA / pF / Hz; brainunit Quantities are converted (optional)."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T
from brainstate_nn._dynamics import get_dt
from brainstate_nn._units import UNITS, is_quantity, to_plain


def test_plain_numbers_pass_through():
    assert to_plain(3.0, "time", "tau") == 3.0
    assert not is_quantity(jnp.ones(2))
    assert set(UNITS) >= {"time", "voltage", "conductance", "current", "capacitance", "frequency"}


u = pytest.importorskip("brainunit")


def test_quantities_convert_to_the_convention():
    assert to_plain(2.0 * u.second, "time", "tau") == pytest.approx(2000.0)
    assert to_plain(0.05 * u.volt, "voltage", "V_th") == pytest.approx(50.0)
    assert to_plain(1.0 * u.nA, "current", "x") == pytest.approx(1000.0)
    assert to_plain(3.0 * u.nS, "conductance", "g") == pytest.approx(3.0)
    assert to_plain(200.0 * u.pF, "capacitance", "C") == pytest.approx(200.0)
    assert to_plain(0.01 * u.kHz, "frequency", "rate") == pytest.approx(10.0)
    np.testing.assert_allclose(to_plain(jnp.array([1.0, 2.0]) * u.mV, "voltage", "V"), [1.0, 2.0])


def test_a_neuron_built_with_quantities_equals_the_plain_one():
    with bc.environ.context(dt=0.1 * u.ms):
        assert get_dt() == pytest.approx(0.1)
        q = nn.init_all_states(nn.LIFRef(3, R=0.1 * u.Gohm, tau=0.01 * u.second, tau_ref=2 * u.ms, V_th=-50 * u.mV,
                                         V_reset=-65 * u.mV, V_rest=-65 * u.mV, V_initializer=-65 * u.mV))
        p = nn.init_all_states(nn.LIFRef(3, R=0.1, tau=10.0, tau_ref=2.0, V_th=-50.0, V_reset=-65.0, V_rest=-65.0,
                                         V_initializer=-65.0))
        run = lambda m, x: T.jit(lambda: T.for_loop(lambda i: m(x), jnp.arange(300)))()  # noqa: E731
        np.testing.assert_array_equal(run(q, 200.0 * u.pA), run(p, 200.0))
    assert q.tau == pytest.approx(10.0) and q.R == pytest.approx(0.1)


def test_hh_accepts_per_area_quantities():
    hh = nn.HH(1, gNa=120 * u.msiemens / u.cm ** 2, C=1 * u.ufarad / u.cm ** 2, ENa=0.05 * u.volt)
    assert (hh.gNa, hh.C, hh.ENa) == (pytest.approx(120.0), pytest.approx(1.0), pytest.approx(50.0))


@pytest.mark.parametrize("make, pattern", [
    (lambda: nn.LIF(2, tau=5 * u.mV), r"tau must be a time, got the Quantity 5.* mV.*Fix.*ms"),
    (lambda: nn.LIF(2, V_th=1 * u.ms), r"V_th must be a voltage.*Fix"),
    (lambda: nn.AdExIF(2, a=1 * u.pA), r"\ba must be a conductance.*nS"),
    (lambda: nn.HH(2, gK=36 * u.nS), r"gK must be a conductance density"),
    (lambda: nn.LIF(2, tau=-5 * u.ms), r"LIF tau must be > 0"),
])
def test_wrong_dimension_names_the_parameter(make, pattern):
    with pytest.raises(bc.ConfigError, match=pattern):
        make()


def test_wrong_dimension_of_dt_and_input():
    lif = nn.init_all_states(nn.LIF(2))
    with bc.environ.context(dt=0.1 * u.mV), pytest.raises(bc.ConfigError, match="environ dt must be a time"):
        lif(1.0)
    with bc.environ.context(dt=0.1), pytest.raises(bc.ConfigError, match="LIF input must be a current"):
        lif(1.0 * u.mV)
