"""Data-parallel training over two processes gives the parameters one process gets (issue 18).

``tests/multiprocess/train_dp.py`` trains a small MLP with brainstate's jit, grad and Adam, feeding
each process's rows of the global batch through ``global_batch``, then saves and restores a
checkpoint. ``nox -s tests_multiprocess`` sets ``BRAINSTATE_MULTIPROCESS=1`` and the test marked
``two_processes`` launches it as 2 processes on 127.0.0.1 (4 CPU devices each, a free port, every
process under a timeout) next to a single-process run on 8 devices, and compares them. The normal
suite runs the single-process part here, in this process: the same training on every device and on
one device.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

SCRIPT = Path(__file__).resolve().parent / "multiprocess" / "train_dp.py"
TIMEOUT = 240  # seconds for the whole launch; each process also stops itself after TIMEOUT - 30
two_processes = pytest.mark.skipif(os.environ.get("BRAINSTATE_MULTIPROCESS") != "1",
                                   reason="launches 2 JAX processes: nox -s tests_multiprocess")


def _script():
    spec = importlib.util.spec_from_file_location("_train_dp", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_close(a: dict, b: dict, exact: bool = False) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if exact:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_training_on_every_device_matches_one_device():
    train_dp = _script()
    every, losses = train_dp.train(Mesh(np.asarray(jax.devices()), ("data",)))
    one, one_losses = train_dp.train(Mesh(np.asarray(jax.devices()[:1]), ("data",)))
    _assert_close(train_dp.values(every), train_dp.values(one))
    np.testing.assert_allclose(losses, one_losses, rtol=1e-5)
    assert losses[-1] < 0.5 * losses[0], losses  # it learns


# -- two processes ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(devices: int) -> dict[str, str]:
    flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", ""))
    return {**os.environ, "JAX_PLATFORMS": "cpu",
            "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={devices}".strip()}


def _run_all(runs: list[tuple[list[str], int, Path]]) -> None:
    """Start every ``(arguments, devices, log)`` run at once; each must exit 0 within TIMEOUT seconds."""
    procs = []
    for args, devices, log in runs:
        with open(log, "w") as out:  # a file, not a pipe: a full pipe could stall a process its peer waits on
            procs.append(subprocess.Popen([sys.executable, str(SCRIPT), *args, "--timeout", str(TIMEOUT - 30)],
                                          stdout=out, stderr=subprocess.STDOUT, env=_env(devices)))
    deadline = time.monotonic() + TIMEOUT
    try:
        for proc in procs:
            proc.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    failed = [(args, proc.returncode, log) for (args, _, log), proc in zip(runs, procs) if proc.returncode != 0]
    assert not failed, "\n\n".join(f"{' '.join(args)} exited with {rc}:\n{log.read_text()[-4000:]}"
                                   for args, rc, log in failed)


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or bool(getattr(ip, "ipv4_mapped", None) and ip.ipv4_mapped.is_loopback)


def _part(result, prefix: str) -> dict:
    return {k.split(":", 1)[1]: result[k] for k in result.files if k.startswith(prefix + ":")}


@two_processes
def test_two_processes_train_like_one_and_checkpoint(tmp_path):
    port = _free_port()
    multi, single = tmp_path / "two", tmp_path / "one"
    multi.mkdir()
    single.mkdir()
    _run_all([([str(multi), "--process-id", str(i), "--num-processes", "2", "--port", str(port)], 4, multi / f"log{i}")
              for i in range(2)] + [([str(single)], 8, single / "log")])
    ref = np.load(single / "process0.npz")
    assert ref["device_count"].tolist() == [1, 8, 8] and str(ref["msgpack_refused"]) == ""
    for i in range(2):
        got = np.load(multi / f"process{i}.npz")
        assert got["device_count"].tolist() == [2, 8, 4]
        _assert_close(_part(got, "param"), _part(ref, "param"))  # 2 processes train as 1 does
        np.testing.assert_allclose(got["losses"], ref["losses"], rtol=1e-5)
        # the checkpoint both processes saved restores whole, onto the 8 devices and onto 1
        saved = {f"model/{k}": v for k, v in _part(got, "param").items()}
        for where, devices in [("mesh", 8), ("local", 1)]:
            restored = {k: v for k, v in _part(got, where).items() if k.startswith("model/")}
            _assert_close(restored, saved, exact=True)
            assert int(got[f"{where}:devices"]) == devices
        assert re.search(r"Cannot save the state at \('model', .* to a msgpack file: its value is spread over 8 devices "
                         r"of several processes .*Fix: pass backend='orbax'", str(got["msgpack_refused"]))
        assert got["sockets"].size and all(_loopback(a) for a in got["sockets"]), got["sockets"]
    assert (multi / "checkpoint").is_dir()
