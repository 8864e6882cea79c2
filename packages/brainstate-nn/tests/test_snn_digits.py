"""examples/snn_digits.py: the spiking network learns the digits in its small configuration."""

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

pytestmark = [
    pytest.mark.skipif(not (EXAMPLES / "snn_digits.py").is_file(),
                       reason="examples/ lives in the repository, not in the sdist"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def snn(monkeypatch):
    """examples/snn_digits.py imported as a fresh module (with examples/ on the path for ``_digits``)."""
    pytest.importorskip("sklearn")
    brainstate = pytest.importorskip("brainstate")
    if not hasattr(brainstate, "nn"):
        pytest.skip("the brainstate meta-package does not re-export brainstate.nn yet")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location("example_snn_digits", EXAMPLES / "snn_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("_digits", None)


def test_fast_configuration_learns(snn, tmp_path):
    # chance is 10%; a model whose gradient does not pass the spikes (or whose encoding is broken)
    # stays far below 80% after three epochs
    result = snn.main(**snn.FAST, out_dir=tmp_path, progress=False)
    assert result["test_acc"] > 0.8 and result["train_acc"] > 0.8
    assert 0.01 < result["hidden_rate"] < 0.5  # the hidden layer spikes, and is not saturated
    assert result["epochs"] == 3 and result["steps"] == snn.FAST["n_steps"]
    pytest.importorskip("matplotlib")
    for name in ("snn_digits_raster.png", "snn_digits_curve.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_encoders_and_command_line(snn):
    import brainstate

    assert isinstance(snn.make_encoder("rate"), brainstate.nn.BernoulliEncoder)
    assert isinstance(snn.make_encoder("latency"), brainstate.nn.LatencyEncoder)
    with pytest.raises(ValueError, match="unknown coding 'phase'"):
        snn.make_encoder("phase")
    assert snn.parse_args([]) == {**snn.DEFAULTS, "seed": 0, "out_dir": snn.OUTPUT}
    config = snn.parse_args(["--fast", "--epochs", "2", "--seed", "3", "--coding", "latency"])
    assert config == {**snn.FAST, "epochs": 2, "seed": 3, "coding": "latency", "out_dir": snn.OUTPUT}
