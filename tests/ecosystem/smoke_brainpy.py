"""Smoke program: brainpy.state (brainpy's models on upstream brainstate) runs on this brainstate.

Run by ``nox -s ecosystem``. A population of ``brainpy.state.LIF`` neurons (R = 1 ohm, tau = 10 ms,
V_th = 1 mV, resting and reset at 0 mV) driven by a constant 2 mA current, for 100 ms at
``dt = 0.1 ms`` set as a brainunit Quantity in ``brainstate.environ``, stepped by
``brainstate.transform.for_loop``. With the exponential Euler step the membrane follows
``V(t) = 2 mV (1 - exp(-t / tau))`` exactly, so the first spike is at the first step with
``V >= 1 mV``: step 70 (t = 7.0 ms, as 10 ln 2 = 6.93 ms). The check covers that, the unit of the
membrane potential, and that every neuron fires.

Exit codes: 0 passed; 1 a check failed (traceback); ``_missing.MISSING_NAMES`` / ``INCOMPATIBLE``:
importing brainpy.state fails on this brainstate, with the missing names printed (see _missing.py).
Not collected by pytest (see conftest.py here).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import brainunit as u  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _missing import report_and_exit  # noqa: E402

import brainstate  # noqa: E402

try:
    import brainpy.state
except (ImportError, AttributeError) as error:
    report_and_exit("brainpy.state", error, packages=("brainpy", "brainpy_state", "braintools"))


def lif_population(n: int = 50, steps: int = 1000) -> None:
    with brainstate.environ.context(dt=0.1 * u.ms):
        neurons = brainpy.state.LIF(n, R=1.0 * u.ohm, tau=10.0 * u.ms, V_th=1.0 * u.mV, V_reset=0.0 * u.mV,
                                    V_rest=0.0 * u.mV, spk_reset="hard")
        brainstate.nn.init_all_states(neurons)

        def step(i):
            return neurons(2.0 * u.mA)

        spikes = np.asarray(brainstate.transform.for_loop(step, jnp.arange(steps)))
    assert spikes.shape == (steps, n), spikes.shape
    v = neurons.V.value
    assert u.get_unit(v) == u.mV, f"the membrane potential must be in mV, not {u.get_unit(v)}"
    first = int(np.argmax(spikes[:, 0] > 0))
    expected = math.ceil(10.0 * math.log(2.0) / 0.1) - 1  # loop index of the first step with V >= 1 mV
    assert first == expected, f"the first spike must be at step {expected + 1} (t = 7.0 ms), not {first + 1}"
    counts = (spikes > 0).sum(axis=0)
    assert np.all(counts == counts[0]) and counts[0] >= 5, f"every neuron fires alike, several times: {counts}"
    print(f"brainpy.state.LIF: {n} neurons, {steps} steps of 0.1 ms under for_loop: first spike at step {first + 1} "
          f"(t = {(first + 1) * 0.1:.1f} ms), {int(counts[0])} spikes each; V in {u.get_unit(v)}")


if __name__ == "__main__":
    print(f"brainstate {brainstate.__version__} from {Path(brainstate.__file__).parent}, brainpy {brainpy.__version__}")
    lif_population()
    print("brainpy.state: OK")
