"""Development sessions for the brainstate workspace. ``nox -l`` lists them.

Every session builds its own virtual environment with editable installs of the four wheels and the
``brainstate`` meta-package, so the tests always import the code in this checkout, once, under its
canonical name. Interpreters that are not installed are skipped, not failed.

    nox -s tests-3.11                 # CPU test suite (tests + doctests) on Python 3.11
    nox -s tests -P python3           # the same on whatever ``python3`` is
    nox -s tests_multidevice          # the suite with 8 virtual CPU devices
    nox -s tests_multiprocess         # 2 JAX processes on 127.0.0.1 train as one (tests/test_multiprocess.py)
    nox -s cuda12 / cuda13 / tpu      # the suite on an accelerator; skipped where there is none
    nox -s tests_minimum              # the suite against the oldest supported jax, jaxlib, numpy
    nox -s lint                       # ruff check
    nox -s typecheck                  # pyright (basic mode) over the five packages' sources, zero errors
    nox -s build                      # build all wheels and sdists, check core installs alone
    nox -s bench                      # benchmarks/ against plain JAX (docs/benchmarks.md)
    nox -s checking_leaks             # the suite with JAX's tracer-leak checker on
    nox -s fuzz                       # 3,000 random stateful programs, three ways (tests/test_fuzz_transforms.py)
    nox -s ecosystem                  # braintools and brainpy.state run on this brainstate (tests/ecosystem/)
    nox -s units                      # brainunit Quantities through the transforms (tests/test_brainunit_interop.py)
    nox -s docs                       # build the documentation site, executing every example (-- --serve to view)

Arguments after ``--`` go to pytest (or ruff / scripts/check_build.py), e.g.
``nox -s tests-3.11 -- packages/brainstate-core -x``.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["tests", "lint"]

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.11", "3.12", "3.13"]
PACKAGES = [
    "packages/brainstate-core",
    "packages/brainstate-transform",
    "packages/brainstate-random",
    "packages/brainstate-nn",
]
# scipy: reference distributions; tqdm, matplotlib, scikit-learn: what the examples under test use;
# treescope: the optional notebook rendering; brainunit: the optional units of the spiking kit.
TEST_DEPS = ["pytest>=8.1", "pytest-xdist", "hypothesis", "scipy", "tqdm", "matplotlib", "scikit-learn", "treescope",
             "brainunit"]


def _expose_pyenv_interpreters() -> None:
    """Let nox find every Python in PYTHONS that pyenv has installed, selected or not.

    pyenv's shims only run the versions that ``pyenv global``/``local`` select, so ``python3.12``
    on PATH may be a shim that fails. Where that is the case, link the newest installed patch
    release as ``pythonX.Y`` into ``.nox/pyenv-bin`` and put that first on PATH. Only the versioned
    names are linked, so what ``python3`` means does not change.
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    links = ROOT / ".nox" / "pyenv-bin"
    for python in PYTHONS:
        found = shutil.which(f"python{python}")
        if found and Path(found).parent != root / "shims":
            continue
        installs = [p for p in (root / "versions").glob(f"{python}.*") if re.fullmatch(rf"{python}\.\d+", p.name)]
        if not installs:
            continue
        newest = max(installs, key=lambda p: int(p.name.rsplit(".", 1)[1]))
        links.mkdir(parents=True, exist_ok=True)
        link = links / f"python{python}"
        link.unlink(missing_ok=True)
        link.symlink_to(newest / "bin" / f"python{python}")
    if links.is_dir():
        os.environ["PATH"] = f"{links}{os.pathsep}{os.environ.get('PATH', '')}"


_expose_pyenv_interpreters()


def _minimum(requirement: str) -> str:
    """The ``>=`` bound of ``requirement`` in brainstate-core's dependencies: the one source of truth."""
    project = tomllib.loads((ROOT / PACKAGES[0] / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        match = re.fullmatch(rf"{requirement}\s*>=\s*([\w.]+)", dep.strip())
        if match:
            return match.group(1)
    raise ValueError(f"brainstate-core declares no '{requirement}>=' dependency: {project['dependencies']}")


def _with_extras(path: str) -> str:
    """``path[a,b]`` naming every optional-dependency group of the project, so all its tests can run."""
    extras = tomllib.loads((ROOT / path / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
    return f"{path}[{','.join(sorted(extras))}]" if extras else path


def install_workspace(session: nox.Session, extra: str | None = "cpu", *pins: str) -> None:
    """Editable installs of the four wheels (all their extras) and the meta-package with ``extra``.

    ``pins`` are further requirements resolved together with them, such as ``jax==0.8.0``.
    """
    editable = [arg for path in PACKAGES for arg in ("-e", _with_extras(path))]
    meta = f".[{extra}]" if extra else "."
    session.install(*editable, "-e", meta, *TEST_DEPS, *pins)


def run_pytest(session: nox.Session, *args: str, env: dict[str, str] | None = None) -> None:
    session.run("pytest", *args, *session.posargs, env=env)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite (tests and doctests of every package) on CPU, in parallel."""
    install_workspace(session)
    # --durations: CI has 20 minutes on 2 cores; the log names the tests that eat them.
    run_pytest(session, "-n", "auto", "--durations=15", env={"JAX_PLATFORMS": "cpu"})


@nox.session
def tests_multidevice(session: nox.Session) -> None:
    """The whole suite with 8 virtual CPU devices, for sharding and multi-device code paths."""
    install_workspace(session)
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8".strip()
    env = {"JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags}
    session.run("python", "-c", "import jax; assert jax.device_count() == 8, jax.devices()", env=env)
    run_pytest(session, "-n", "auto", env=env)


@nox.session(python=PYTHONS)
def tests_multiprocess(session: nox.Session) -> None:
    """Two JAX processes (``jax.distributed``) train one model data-parallel, as one process does.

    tests/test_multiprocess.py launches tests/multiprocess/train_dp.py as 2 processes on 127.0.0.1 (4
    virtual CPU devices each, a free port, every process under a timeout, gloo kept on the loopback)
    next to a single-process run on 8 devices, and checks that the parameters agree and that the
    checkpoint both processes save (Orbax) restores onto the 8 devices and onto one. The global-batch
    helpers' own tests run too. ``BRAINSTATE_MULTIPROCESS=1`` turns the 2-process test on (the normal
    suite skips it).
    """
    install_workspace(session)
    run_pytest(session, "tests/test_multiprocess.py", "packages/brainstate-core/tests/test_multiprocess_helpers.py",
               env={"JAX_PLATFORMS": "cpu", "BRAINSTATE_MULTIPROCESS": "1"})


@nox.session(python=PYTHONS[0])
def tests_minimum(session: nox.Session) -> None:
    """The whole suite against the oldest jax, jaxlib and numpy that the pyproject files accept."""
    jax, numpy = _minimum("jax"), _minimum("numpy")
    install_workspace(session, None, f"jax=={jax}", f"jaxlib=={jax}", f"numpy=={numpy}")
    session.run("python", "-c", "import jax, numpy; print('jax', jax.__version__, 'numpy', numpy.__version__)")
    run_pytest(session, "-n", "auto", env={"JAX_PLATFORMS": "cpu"})


# Device nodes that a machine with the accelerator has; checked before downloading its jaxlib plugin.
DEVICE_NODES = {"gpu": ["nvidia[0-9]*"], "tpu": ["accel[0-9]*", "vfio/[0-9]*"]}


def _may_have(platform: str) -> bool:
    return (platform == "gpu" and shutil.which("nvidia-smi") is not None) or any(
        next(Path("/dev").glob(pattern), None) for pattern in DEVICE_NODES[platform]
    )


def _accelerator_tests(session: nox.Session, extra: str, platform: str, hardware: str) -> None:
    """Install ``brainstate[extra]`` and run the suite on ``platform``; skip if the machine has none.

    The multi-device tests (sharding, ``shard_map``, ``pmap``, Orbax restores onto another mesh) are
    part of the suite: they run on the accelerator's devices where the machine has as many as each
    needs (4 or 8), and are skipped, with that reason in the summary, where it has fewer.
    """
    if not _may_have(platform):
        looked = [f"/dev/{p}" for p in DEVICE_NODES[platform]] + (["nvidia-smi"] if platform == "gpu" else [])
        session.skip(
            f"no {platform.upper()} on this machine (found none of {', '.join(looked)}): '{extra}' needs {hardware}"
        )
    install_workspace(session, extra)
    probe = "import jax; print('PLATFORM=' + jax.devices()[0].platform)"
    output = session.run("python", "-c", probe, silent=True, success_codes=[0, 1]) or ""
    found = re.findall(r"PLATFORM=(\w+)", output)
    if found != [platform]:
        session.skip(
            f"jax.devices() reports {found[0] if found else 'an error'!r}, not {platform!r}: "
            f"'{extra}' needs {hardware}.\n{output.strip()}"
        )
    env = {"JAX_PLATFORMS": "cuda" if platform == "gpu" else platform, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    # One process: an accelerator is not shared between pytest-xdist workers.
    run_pytest(session, "-p", "no:xdist", env=env)


@nox.session
def cuda12(session: nox.Session) -> None:
    """The suite on an NVIDIA GPU with ``brainstate[cuda12]``."""
    _accelerator_tests(session, "cuda12", "gpu", "an NVIDIA GPU with a CUDA 12 capable driver")


@nox.session
def cuda13(session: nox.Session) -> None:
    """The suite on an NVIDIA GPU with ``brainstate[cuda13]``."""
    _accelerator_tests(session, "cuda13", "gpu", "an NVIDIA GPU with a CUDA 13 capable driver")


@nox.session
def tpu(session: nox.Session) -> None:
    """The suite on a Cloud TPU VM with ``brainstate[tpu]``."""
    _accelerator_tests(session, "tpu", "tpu", "a Cloud TPU VM")


@nox.session
def lint(session: nox.Session) -> None:
    """``ruff check`` over the workspace (configuration in the root pyproject.toml)."""
    session.install("ruff")
    session.run("ruff", "check", *(session.posargs or ["."]))


# pyright is pinned: a new release may check more, and this session must stay at zero errors.
PYRIGHT = "pyright==1.1.414"
NO_NODE = (
    "pyright could not start: it runs on Node.js, and the PyPI package found no `node` on PATH and could not "
    "download one (nodeenv). Fix: install Node.js (e.g. `apt-get install nodejs npm`, or from nodejs.org) and "
    "rerun, or install pyright itself with `npm install -g pyright` (then this session runs that one)."
)


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """pyright in basic mode over the five packages' sources (``[tool.pyright]`` in the root pyproject.toml).

    The session fails on any error. Imports resolve in this session's environment (the workspace, editable).
    pyright's PyPI package runs the npm one on a Node.js it finds on PATH, or downloads Node.js; where
    neither works, a ``pyright`` installed with npm is used instead, and without one the session stops
    with the fix. Arguments go to pyright, e.g. ``nox -s typecheck -- packages/brainstate-nn/src``.
    """
    install_workspace(session)
    session.install(PYRIGHT)
    python = session.run("python", "-c", "import sys; print(sys.executable)", silent=True).strip()
    venv_bin = Path(python).parent
    outside = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != venv_bin)
    candidates = [("pyright", False)]  # this session's, from PyPI
    if shutil.which("pyright", path=outside):
        candidates.append((shutil.which("pyright", path=outside), True))  # one installed with npm
    for pyright, external in candidates:
        version = session.run(pyright, "--version", silent=True, success_codes=range(256), external=external)
        if re.search(r"pyright \d+\.\d+", version or ""):
            session.log(f"{pyright}: {version.strip()}")
            session.run(pyright, "--pythonpath", python, *session.posargs, external=external)
            return
    session.error(NO_NODE)


@nox.session
def build(session: nox.Session) -> None:
    """Build the five wheels and sdists, then check that brainstate-core installs and imports alone."""
    session.install("build", "hatchling>=1.24")
    session.run("python", "scripts/check_build.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Every scenario of benchmarks/ against plain JAX; tables printed, JSON and PNG in benchmarks/results/.

    Arguments go to benchmarks/run_all.py: ``nox -s bench -- --quick`` (smoke run), ``-- --only dispatch,hlo``,
    ``-- --strict`` (fail the session when a target fails). See docs/benchmarks.md. Flax and Equinox are
    installed for their rows in the dispatch, first-call and build scenarios, in the same install as the
    workspace, so one jax is chosen that fits all of them.
    """
    install_workspace(session, "cpu", "flax", "equinox")
    session.install("matplotlib")
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session
def validate(session: nox.Session) -> None:
    """The Brette et al. (2007) COBA and CUBA networks in the spiking kit and in Brian2, 10 seeds each.

    Rates and CVs of ISI must agree within 5% and both must be asynchronous irregular; the wall-time
    ratio is printed. Results in benchmarks/results/. Arguments go to validation/brette2007_brian2.py,
    e.g. ``nox -s validate -- --seeds 3``. Brian2 compiles its Cython code on the first run (a minute).
    """
    install_workspace(session)
    # Brian2 2.9 still calls numpy.ndarray.ptp, which numpy 2.3 removed.
    session.install("brian2", "cython", "numpy<2.3")
    session.run("python", "validation/brette2007_brian2.py", *session.posargs, env={"JAX_PLATFORMS": "cpu"})


# Libraries built on upstream brainstate, at the versions last checked (docs/packaging.md, "Ecosystem"),
# installed with --no-deps so that pip cannot replace this brainstate with upstream's. brainpy_state 0.2.0
# is an empty package that raises ImportError (retired for brainpy>=2.9, unreleased); brainpy 2.8.2 needs 0.1.x.
ECOSYSTEM = ["braintools==0.3.0", "brainpy==2.8.2", "brainpy_state==0.1.0", "brainevent==0.2.1"]
# Their requirements other than brainstate and each other, from the wheels' METADATA, installed normally.
ECOSYSTEM_DEPS = ["brainunit>=0.3.0", "optax", "matplotlib", "msgpack", "scipy", "typing_extensions", "tqdm"]
ECOSYSTEM_SMOKE = {"braintools": "tests/ecosystem/smoke_braintools.py", "brainpy.state": "tests/ecosystem/smoke_brainpy.py"}
OUR_BRAINSTATE = """
import importlib.metadata as md, pathlib, sys
import brainstate, brainstate_core
root, want = pathlib.Path(sys.argv[1]), sys.argv[2]
for dist in ["brainstate", "brainstate-core", "brainstate-transform", "brainstate-random", "brainstate-nn"]:
    assert md.version(dist) == want, f"{dist} {md.version(dist)} is installed, not this workspace's {want}"
for module in (brainstate, brainstate_core):
    assert pathlib.Path(module.__file__).resolve().is_relative_to(root), f"{module.__name__} comes from {module.__file__}"
print(f"brainstate {brainstate.__version__} is this checkout's ({pathlib.Path(brainstate.__file__).parent})")
"""


@nox.session(python=PYTHONS[0])
def ecosystem(session: nox.Session) -> None:
    """braintools and brainpy.state, built on upstream brainstate, import and run on this brainstate.

    Installs the workspace, then ECOSYSTEM with ``--no-deps`` and their other requirements
    (ECOSYSTEM_DEPS), checks that the installed brainstate is still this checkout's and that ``pip check``
    is content, then runs the smoke programs in tests/ecosystem/ (braintools' Adam and metrics on a
    brainstate.nn model; a brainpy.state LIF population). A library that cannot import because this
    brainstate lacks names it uses is reported as ``<library>: missing names ...``; the session fails
    unless every smoke program passed.
    """
    install_workspace(session)
    session.install(*ECOSYSTEM_DEPS)
    session.install("--no-deps", *ECOSYSTEM)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    session.run("python", "-c", OUR_BRAINSTATE, str(ROOT), version)
    if session.venv_backend == "uv":
        session.run("uv", "pip", "check")
    else:
        session.run("python", "-m", "pip", "check")
    results = {}
    for library, script in ECOSYSTEM_SMOKE.items():
        # 3 and 4: tests/ecosystem/_missing.py's MISSING_NAMES and INCOMPATIBLE; 1: a check failed.
        output = session.run("python", script, silent=True, success_codes=[0, 1, 3, 4],
                             env={"JAX_PLATFORMS": "cpu"}) or ""
        print(output, flush=True)
        missing = re.findall(rf"^MISSING-NAMES {re.escape(library)}: (.*)$", output, re.M)
        stopped = re.findall(rf"^STOPPED-ON {re.escape(library)}: (.*)$", output, re.M)
        if re.search(rf"^{re.escape(library)}: OK$", output, re.M):
            results[library] = "OK"
        elif missing or stopped:
            results[library] = "; ".join([*(f"missing names {m}" for m in missing), *(f"then fails: {s}" for s in stopped)])
        else:
            results[library] = "failed (output above)"
    summary = "\n".join(f"{library}: {result}" for library, result in results.items())
    session.log("ecosystem:\n" + summary)
    if any(result != "OK" for result in results.values()):
        session.error("not every library runs on this brainstate:\n" + summary)


@nox.session(python=PYTHONS[0])
def units(session: nox.Session) -> None:
    """brainunit Quantities through brainstate's transformations and environ (tests/test_brainunit_interop.py).

    The main suite runs these tests too (brainunit is in TEST_DEPS) but skips them where brainunit is
    absent; here brainunit is required, so a missing or broken brainunit fails instead of skipping.
    """
    install_workspace(session)
    session.run("python", "-c", "import brainunit; print('brainunit', brainunit.__version__)")
    run_pytest(session, "tests/test_brainunit_interop.py",
               env={"JAX_PLATFORMS": "cpu", "BRAINSTATE_REQUIRE_BRAINUNIT": "1"})


DOCS_HTML = ROOT / "docs" / "_build" / "html"


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the documentation site (Sphinx + myst-nb, docs/) into docs/_build/html, executing every code cell.

    The build fails on a warning (``-W``), an exception in a code cell and a broken cross-reference
    (nitpicky); ``-E`` re-reads every page, so every example runs on every build. Then
    docs/_screenshots.py takes screenshots of the home page, the quick start, an API page, the state model
    and the spiking-network training guide in headless Chromium (Debian's ``chromium``) and checks them. ``nox -s docs -- --serve`` builds, then serves the
    site on http://127.0.0.1:8000 (``--port N`` for another); other arguments go to sphinx-build, e.g.
    ``nox -s docs -- -j 1``. Requirements in docs/requirements.txt.
    """
    install_workspace(session)
    session.install("-r", "docs/requirements.txt")
    args = list(session.posargs)
    serve = "--serve" in args
    port = "8000"
    if serve:
        args.remove("--serve")
    if "--port" in args:
        at = args.index("--port")
        port = args[at + 1]
        del args[at : at + 2]
    env = {"JAX_PLATFORMS": "cpu"}
    session.run("sphinx-build", "-b", "html", "-E", "-W", "--keep-going", "-n", "-j", "auto", "docs", str(DOCS_HTML),
                *args, env=env)
    session.run("python", "docs/_screenshots.py", str(DOCS_HTML), env=env)
    if serve:
        session.log(f"serving {DOCS_HTML} on http://127.0.0.1:{port}/ (Ctrl-C stops)")
        session.run("python", "-m", "http.server", port, "--bind", "127.0.0.1", "--directory", str(DOCS_HTML))


DEMOS = [
    ["examples/quickstart.py"],
    ["examples/mlp_digits.py", "--epochs", "5", "--no-resume"],
    ["examples/snn_digits.py", "--fast"],
    ["examples/brette2007.py", "--model", "coba", "--duration", "200"],
    ["examples/spiking_fi_curve.py"],
    ["examples/param_constrained.py", "--steps", "300"],
]


@nox.session(python=PYTHONS[0])
def demo(session: nox.Session) -> None:
    """Install as a newcomer would (the README's first command, plus the optim and plot extras and
    scikit-learn for the digits) and run the quick start and the main examples.

    Each example prints its numbers (and saves its figures under examples/output/); short settings keep
    the whole session to a few minutes. ``nox -s demo -- examples/cnn_digits.py`` runs one script instead.
    """
    session.install("-e", "packages/brainstate-core", "-e", "packages/brainstate-transform", "-e",
                    "packages/brainstate-random", "-e", "packages/brainstate-nn[optim,plot]", "-e", ".[cpu]",
                    "scikit-learn", "tqdm")
    for script in ([list(session.posargs)] if session.posargs else DEMOS):
        session.run("python", *script, env={"JAX_PLATFORMS": "cpu"})


@nox.session(python=PYTHONS[0])
def fuzz(session: nox.Session) -> None:
    """Differential fuzzing: thousands of random stateful programs (tests/test_fuzz_transforms.py).

    Each program runs with the brainstate transformations, eagerly and as hand-threaded pure JAX;
    the results must agree. The normal suite replays a fixed set of programs; this session draws new
    ones on every run: 3,000 by default, ``BRAINSTATE_FUZZ_EXAMPLES=N nox -s fuzz`` for another number
    (spread over the cores: about 0.8 CPU-seconds each in a short run, more in long ones, where Hypothesis
    mutates earlier programs into bigger ones; 10,000 programs took 2 h 12 min on two shared cores, see
    docs/benchmarks.md). A failure prints the shrunk program and a ``@reproduce_failure`` line to replay it.
    """
    install_workspace(session)
    examples = os.environ.get("BRAINSTATE_FUZZ_EXAMPLES", "3000")
    run_pytest(session, "tests/test_fuzz_transforms.py", "-n", "auto", "-x",
               env={"JAX_PLATFORMS": "cpu", "BRAINSTATE_FUZZ_EXAMPLES": examples})


@nox.session(python=PYTHONS[0])
def checking_leaks(session: nox.Session) -> None:
    """The suite with JAX's tracer-leak checker on: a tracer kept alive after its trace fails the test.

    ``JAX_CHECK_TRACER_LEAKS=1`` turns on ``jax_check_tracer_leaks`` (what ``jax.checking_leaks()``
    does) for every test. Slower than ``tests``; narrow it with arguments, e.g.
    ``nox -s checking_leaks -- packages/brainstate-transform``.
    """
    install_workspace(session)
    run_pytest(session, "-n", "auto", "--durations=15", env={"JAX_PLATFORMS": "cpu", "JAX_CHECK_TRACER_LEAKS": "1"})
