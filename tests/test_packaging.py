"""The workspace holds together: one version, exact pins, the extras, the meta-package's namespace.

Building the wheels and installing brainstate-core alone is checked by ``nox -s build``
(scripts/check_build.py); these tests read the source tree and the installed packages.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import brainstate
import brainstate_core

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ["brainstate-core", "brainstate-transform", "brainstate-random", "brainstate-nn"]
DISTS = ["brainstate", *WHEELS]
EXTRAS = ["cpu", "cuda12", "cuda13", "tpu"]
EXTRA_FLOORS = {"cuda13": "0.7.0"}  # the first jax release that provides the extra
SUBMODULES = ["environ", "graph", "mixin", "sharding", "typing", "util"]
MAX_LINES = 600


def project_dir(dist: str) -> Path:
    return ROOT if dist == "brainstate" else ROOT / "packages" / dist


def project(dist: str) -> dict:
    return tomllib.loads((project_dir(dist) / "pyproject.toml").read_text())["project"]


def import_name(dist: str) -> str:
    return dist.replace("-", "_")


def split(requirement: str) -> tuple[str, str]:
    """``'jax[cpu]>=0.6'`` -> ``('jax[cpu]', '>=0.6')``."""
    match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", requirement.strip())
    assert match, f"cannot parse requirement {requirement!r}"
    return match.group(1), match.group(2).strip()


VERSION = project("brainstate")["version"]


@pytest.mark.parametrize("dist", DISTS)
def test_versions_agree(dist: str) -> None:
    assert project(dist)["version"] == VERSION, f"{dist}/pyproject.toml is not at the workspace version {VERSION}"
    module = importlib.import_module(import_name(dist))
    assert getattr(module, "__version__", None) == VERSION, f"{import_name(dist)}.__version__ must be {VERSION!r}"


def test_version_is_the_upstream_api_level_targeted() -> None:
    # docs/packaging.md "Versions": the number states which upstream release's public API we target,
    # the one whose name lists tests/upstream_api/ holds (modules upstream dropped come from older ones).
    levels = {}
    for path in (ROOT / "tests" / "upstream_api").glob("*.txt"):
        match = re.search(r"^# upstream version: (\d+\.\d+\.\d+)", path.read_text(), re.M)
        if match:
            levels.setdefault(match.group(1), []).append(path.stem)
    target = max(levels, key=lambda v: tuple(map(int, v.split("."))))
    assert len(levels[target]) >= 10, f"most name lists should come from upstream {target}: {levels}"
    assert VERSION == target, f"the workspace version {VERSION} must be the upstream API level targeted, {target}"
    assert re.search(rf"## Versions\n.*?\b{re.escape(VERSION)}\b", (ROOT / "docs" / "packaging.md").read_text(), re.S)


def test_meta_pins_every_wheel_at_its_own_version() -> None:
    pins = dict(split(r) for r in project("brainstate")["dependencies"])
    assert pins == {dist: f"=={VERSION}" for dist in WHEELS}


@pytest.mark.parametrize("dist", WHEELS)
def test_wheels_pin_sibling_wheels_exactly(dist: str) -> None:
    for name, spec in map(split, project(dist)["dependencies"]):
        if name.startswith("brainstate"):
            assert spec == f"=={VERSION}", f"{dist} must pin {name}=={VERSION}, not {name}{spec}"


@pytest.mark.parametrize(
    ("dist", "forbidden"),
    [
        ("brainstate-core", {"brainstate-transform", "brainstate-random", "brainstate-nn"}),
        ("brainstate-transform", {"brainstate-random", "brainstate-nn"}),
        ("brainstate-random", {"brainstate-nn"}),
    ],
)
def test_dependencies_point_one_way(dist: str, forbidden: set[str]) -> None:
    names = {split(r)[0] for r in project(dist)["dependencies"]}
    assert not names & forbidden, f"{dist} must not depend on {sorted(names & forbidden)}"


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("brainstate_core", {"brainstate", "brainstate_transform", "brainstate_random", "brainstate_nn"}),
        ("brainstate_transform", {"brainstate", "brainstate_random", "brainstate_nn"}),
        ("brainstate_random", {"brainstate", "brainstate_nn"}),
    ],
)
def test_imports_point_one_way(module: str, forbidden: set[str]) -> None:
    # In a fresh interpreter: this one has imported everything already.
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(forbidden)!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", f"importing {module} imported {done.stdout.strip()}"


@pytest.mark.parametrize("extra", EXTRAS)
def test_meta_declares_accelerator_extras(extra: str) -> None:
    extras = project("brainstate")["optional-dependencies"]
    assert sorted(extras) == sorted(EXTRAS)
    (requirement,) = extras[extra]
    floor = max(jax_minimum(), EXTRA_FLOORS.get(extra, "0"), key=lambda v: tuple(map(int, v.split("."))))
    assert split(requirement) == (f"jax[{extra}]", f">={floor}")


def jax_minimum() -> str:
    specs = {split(r)[1] for dist in WHEELS for r in project(dist)["dependencies"] if split(r)[0] == "jax"}
    assert len(specs) == 1 and next(iter(specs)).startswith(">="), f"one jax minimum across the wheels: {specs}"
    return next(iter(specs))[2:]


def test_one_jax_minimum_everywhere() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", jax_minimum())


# Every public module file in src/brainstate/ (and at least the core ones) aliases a wheel's module.
ALIASES = sorted({*SUBMODULES, *(p.stem for p in (ROOT / "src" / "brainstate").glob("[!_]*.py"))})


@pytest.mark.parametrize("name", ALIASES)
def test_meta_submodules_are_the_wheel_modules(name: str) -> None:
    implementing = {"surrogate": "brainstate_nn.surrogate", "interop": "brainstate_nn.interop"}  # DESIGN.md: nn implements them
    target = importlib.import_module(
        f"brainstate_core.{name}" if name in SUBMODULES else implementing.get(name, f"brainstate_{name}"))
    assert getattr(brainstate, name, None) is target, f"add `from . import {name} as {name}` to brainstate/__init__.py"
    assert importlib.import_module(f"brainstate.{name}") is target
    assert sys.modules[f"brainstate.{name}"] is target


def test_meta_reexports_every_public_core_name() -> None:
    # brainstate_core.internal is core's API for the sibling wheels, deliberately not a brainstate name.
    public = {n for n in dir(brainstate_core) if not n.startswith("_")} - {"internal"}
    missing = sorted(n for n in public if getattr(brainstate, n, None) is not getattr(brainstate_core, n))
    assert not missing, f"add `from brainstate_core import X as X` to src/brainstate/__init__.py for: {missing}"


def test_no_source_module_is_loaded_twice() -> None:
    # Doctest collection must import each file once, under its canonical name, or JAX sees the
    # pytree registrations in it twice.
    trees = [ROOT / "src", ROOT / "packages", ROOT / "tests"]  # not .nox/ or .venv/: third-party code
    by_file: dict[Path, set[int]] = {}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and any(Path(file).resolve().is_relative_to(tree) for tree in trees):
            by_file.setdefault(Path(file).resolve(), set()).add(id(module))
    twice = sorted(str(f.relative_to(ROOT)) for f, ids in by_file.items() if len(ids) > 1)
    assert not twice, f"loaded as two module objects: {twice}"


@pytest.mark.parametrize("dist", DISTS)
def test_every_wheel_ships_the_pep561_marker(dist: str) -> None:
    # hatchling packs every file of the wheel's package directory that git does not ignore, so a
    # py.typed there is a py.typed in the wheel (scripts/check_build.py checks the built wheels).
    package = f"src/{import_name(dist)}"
    marker = project_dir(dist) / package / "py.typed"
    assert marker.is_file() and marker.read_text() == "", f"{marker.relative_to(ROOT)} must exist and be empty"
    config = tomllib.loads((project_dir(dist) / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
    assert config["wheel"]["packages"] == [package]
    assert "py.typed" not in str(config["wheel"].get("exclude", ""))
    if (ROOT / ".git").exists():
        ignored = subprocess.run(["git", "check-ignore", "-q", str(marker)], cwd=ROOT)
        assert ignored.returncode == 1, f"git ignores {marker.relative_to(ROOT)}, so the wheel would lack it"
    installed = importlib.import_module(import_name(dist)).__file__
    assert (Path(installed).parent / "py.typed").is_file()


SOURCES = sorted([*ROOT.glob("src/**/*.py"), *ROOT.glob("packages/*/src/**/*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_files_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it (limit {MAX_LINES})"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Run the test suite.*?```bash\n(.+?)\n```", readme, re.S).group(1)
    script = (ROOT / ".ci" / "run").read_text()
    assert command in script.splitlines()
