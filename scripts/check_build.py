"""Build the five wheels and sdists of the workspace and check what they contain and what they install.

Run by ``nox -s build``, which provides ``build``, ``hatchling`` and ``packaging``; it also runs alone
in any environment that has them::

    python scripts/check_build.py [--outdir dist] [--no-install-check]

Checks, each reported as a line; the exit status is 1 if any fails:

1. every project builds an sdist, and a wheel from that sdist (so the sdist is complete);
2. every wheel holds its own import package (with its ``py.typed`` marker) and nothing else (no
   tests), at the workspace version;
3. the ``brainstate`` meta wheel pins the four wheels at its own version and declares the extras
   cpu, cuda12, cuda13 and tpu, each forwarding to the same extra of jax;
4. brainstate-core asks for jax and numpy only, and its wheel, installed alone into a fresh virtual
   environment, imports without pulling in any other brainstate package, and installs nothing
   beyond jax, jaxlib, numpy and their own dependency closure, read from their installed metadata.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = {
    "brainstate": ROOT,
    "brainstate-core": ROOT / "packages/brainstate-core",
    "brainstate-transform": ROOT / "packages/brainstate-transform",
    "brainstate-random": ROOT / "packages/brainstate-random",
    "brainstate-nn": ROOT / "packages/brainstate-nn",
}
EXTRAS = ("cpu", "cuda12", "cuda13", "tpu")
CORE_RUNTIME = {"jax", "jaxlib", "numpy"}
VENV_SEED = {"pip", "setuptools", "wheel"}

# Runs inside the fresh environment: import core, then report the installed distributions.
PROBE = """
import json, sys, importlib.metadata as md
import brainstate_core
brainstate_core.State(1.0).value += 1
others = sorted(m for m in sys.modules if m.split('.')[0] in
                ('brainstate', 'brainstate_transform', 'brainstate_random', 'brainstate_nn'))
dists = {d.metadata['Name']: d.requires or [] for d in md.distributions()}
print(json.dumps({'others': others, 'dists': dists}))
"""


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, ok: bool, message: str) -> bool:
        print(("  ok    " if ok else "  FAIL  ") + message)
        if not ok:
            self.failures.append(message)
        return ok


def import_name(dist: str) -> str:
    return dist.replace("-", "_")


def wheel_metadata(wheel: Path) -> tuple[list[str], object]:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_path = next(n for n in names if n.endswith(".dist-info/METADATA"))
        return names, Parser().parsestr(zf.read(meta_path).decode())


def build_all(outdir: Path, report: Report) -> dict[str, tuple[Path, Path]]:
    """Build sdist then wheel-from-sdist for each project into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in outdir.glob("brainstate*"):
        stale.unlink()
    artifacts = {}
    for dist, path in PROJECTS.items():
        version = tomllib.loads((path / "pyproject.toml").read_text())["project"]["version"]
        cmd = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(path)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        stem = f"{import_name(dist)}-{version}"
        wheel, sdist = outdir / f"{stem}-py3-none-any.whl", outdir / f"{stem}.tar.gz"
        ok = done.returncode == 0 and wheel.is_file() and sdist.is_file()
        if not report.check(ok, f"{dist}: built {sdist.name} and {wheel.name}"):
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
            continue
        artifacts[dist] = (wheel, sdist)
    return artifacts


def check_contents(artifacts: dict[str, tuple[Path, Path]], report: Report) -> None:
    versions = {}
    for dist, (wheel, _) in artifacts.items():
        names, meta = wheel_metadata(wheel)
        versions[dist] = meta["Version"]
        package = import_name(dist)
        tops = {n.split("/")[0] for n in names}
        expected = {package, f"{package}-{meta['Version']}.dist-info"}
        report.check(tops == expected, f"{dist}: wheel holds {sorted(tops)} (expected {sorted(expected)})")
        report.check(f"{package}/__init__.py" in names, f"{dist}: wheel has {package}/__init__.py")
        report.check(f"{package}/py.typed" in names, f"{dist}: wheel has the PEP 561 marker {package}/py.typed")
    report.check(len(set(versions.values())) == 1, f"one version across the wheels: {versions}")


def check_meta(wheel: Path, report: Report) -> None:
    _, meta = wheel_metadata(wheel)
    version = meta["Version"]
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    pinned = {canonicalize_name(r.name): str(r.specifier) for r in requires if r.marker is None}
    wanted = {name: f"=={version}" for name in PROJECTS if name != "brainstate"}
    report.check(pinned == wanted, f"brainstate pins the four wheels at =={version}: {pinned}")
    provided = set(meta.get_all("Provides-Extra") or [])
    report.check(set(EXTRAS) <= provided, f"brainstate declares extras {EXTRAS} (Provides-Extra: {sorted(provided)})")
    for extra in EXTRAS:
        forwards = [
            r for r in requires if r.marker and r.marker.evaluate({"extra": extra}) and r.name == "jax" and extra in r.extras
        ]
        report.check(len(forwards) == 1, f"brainstate[{extra}] requires jax[{extra}]: {[str(r) for r in forwards]}")


def dependency_closure(roots: set[str], dists: dict[str, list[str]]) -> set[str]:
    """Names reachable from ``roots`` through the unconditional Requires-Dist of installed distributions."""
    env = default_environment() | {"extra": ""}
    requires = {canonicalize_name(name): reqs for name, reqs in dists.items()}
    seen, todo = set(), [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in requires:
            continue
        seen.add(name)
        for text in requires[name]:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(canonicalize_name(req.name))
    return seen


def check_core_alone(wheel: Path, report: Report) -> None:
    _, meta = wheel_metadata(wheel)
    declared = {canonicalize_name(Requirement(r).name) for r in meta.get_all("Requires-Dist") or []}
    report.check(declared <= CORE_RUNTIME, f"brainstate-core requires only {sorted(CORE_RUNTIME)}: {sorted(declared)}")
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        install = subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True)
        if not report.check(install.returncode == 0, f"pip install {wheel.name} into a fresh venv"):
            print(install.stdout[-3000:], install.stderr[-3000:], sep="\n")
            return
        probe = subprocess.run([python, "-c", PROBE], capture_output=True, text=True)
        if not report.check(probe.returncode == 0, "import brainstate_core in that venv and update a State"):
            print(probe.stderr[-3000:])
            return
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    report.check(not found["others"], f"importing brainstate_core imports no other brainstate module: {found['others']}")
    installed = {canonicalize_name(name) for name in found["dists"]} - VENV_SEED
    allowed = dependency_closure(CORE_RUNTIME, found["dists"]) | {"brainstate-core"}
    report.check(installed <= allowed, f"installed only core + closure of jax/jaxlib/numpy: extra {sorted(installed - allowed)}")
    print(f"        brainstate-core alone installs: {', '.join(sorted(installed))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist", help="where the wheels and sdists go")
    parser.add_argument("--no-install-check", action="store_true", help="skip check 4 (needs PyPI or a wheel cache)")
    args = parser.parse_args(argv)
    report = Report()
    print(f"building into {args.outdir}")
    artifacts = build_all(args.outdir.resolve(), report)
    check_contents(artifacts, report)
    if "brainstate" in artifacts:
        check_meta(artifacts["brainstate"][0], report)
    if "brainstate-core" in artifacts and not args.no_install_check:
        check_core_alone(artifacts["brainstate-core"][0], report)
    if report.failures:
        print(f"{len(report.failures)} check(s) failed")
        return 1
    print("all build checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
