"""The scripts in examples/: small configurations train in seconds and reach good accuracy."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

pytestmark = [
    pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/ lives in the repository, not in the sdist"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def example(monkeypatch):
    """``example(name)``: import examples/<name>.py as a fresh module."""
    brainstate = pytest.importorskip("brainstate")
    if not hasattr(brainstate, "nn"):
        pytest.skip("the brainstate meta-package does not re-export brainstate.nn yet")
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def load(name):
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    yield load
    sys.modules.pop("_digits", None)


def test_mlp_learns_and_resumes_from_its_checkpoint(example, tmp_path):
    mlp = example("mlp_digits")
    config = dict(epochs=8, hidden=64, lr=3e-3, progress=False)
    straight = mlp.main(out_dir=tmp_path / "a", **config)
    mlp.main(out_dir=tmp_path / "b", **{**config, "epochs": 4})
    resumed = mlp.main(out_dir=tmp_path / "b", **config)
    assert straight >= 0.94
    assert resumed == straight  # the checkpoint holds the model, the optimiser and the shuffling key
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["mlp_digits.msgpack", "mlp_digits_curve.png"]
    assert (tmp_path / "b" / "mlp_digits_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_cnn_learns(example, tmp_path):
    cnn = example("cnn_digits")
    assert cnn.main(epochs=4, channels=8, out_dir=tmp_path, progress=False) >= 0.93


def test_gru_learns_frequencies(example):
    gru = example("gru_sequence")
    xs, labels = gru.make_data(10, length=20)
    assert xs.shape == (20, 10, 1) and set(np.unique(labels)) <= {0, 1, 2}
    assert gru.main(epochs=5, n_train=500, n_test=100, hidden=16, lr=2e-2, progress=False) >= 0.9


def test_spiking_fi_curve_matches_the_analytic_curve(example, tmp_path):
    fi = example("spiking_fi_curve")
    assert fi.main(out_dir=tmp_path, n_currents=12) < 0.01
    assert (tmp_path / "spiking_fi_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_spiking_izhikevich_patterns(example, tmp_path):
    counts = example("spiking_izhikevich").main(out_dir=tmp_path)
    assert counts["FS"] > 3 * counts["RS"] > 0 and counts["RZ (2 ms pulse)"] == 0 and counts["TC (rebound)"] >= 3
    assert (tmp_path / "spiking_izhikevich.png").read_bytes()[:4] == b"\x89PNG"


def test_spiking_hh_spike_train(example, tmp_path):
    result = example("spiking_hh").main(out_dir=tmp_path)
    assert 30 < result["peak_mV"] < 50 and 2.0 <= result["rheobase"] <= 3.0 and 6.0 <= result["repetitive"] <= 6.75
    assert (tmp_path / "spiking_hh.png").read_bytes()[:4] == b"\x89PNG"


def test_spiking_synapses_and_plasticity_match_their_formulas(example, tmp_path):
    result = example("spiking_synapses").main(out_dir=tmp_path, steps=2000)
    assert result["kernel_error"] < 1e-3 and result["stp_error"] < 0.01 and result["stdp_error"] < 1e-6
    assert result["rate_low_hz"] < result["rate_high_hz"] and 0.0 < result["cv_isi"] < 1.0
    assert (tmp_path / "spiking_synapses.png").read_bytes()[:4] == b"\x89PNG"


def test_param_constrained_fit_stays_in_its_constraints_and_finds_the_truth(example):
    demo = example("param_constrained")
    values = demo.main(steps=400, verbose=False)
    assert 0.0 < values["amplitude"] < 5.0 and values["tau"] > 0.0 and (values["w"] >= 0.0).all()
    assert abs(values["amplitude"] - 2.5) < 0.1 and abs(values["tau"] - 0.7) < 0.05
    np.testing.assert_allclose(values["w"], demo.TRUTH["w"], atol=0.1)
    model = demo.DecayPlusLinear()
    assert set(model.states()) == {("amplitude", "val"), ("tau", "val"), ("w", "val")}  # the unconstrained States
    assert float(model.reg_loss()) > 0.0
