"""The API reference of the documentation site covers every public name (no Sphinx needed).

``docs/_ext/apigen.py`` writes the reference pages from the modules when the site is built. Here
it writes them into a temporary folder, and the pages are read back as text: every name in the
``__all__`` of each public module (every attribute without a leading underscore where a module
has no ``__all__``) must have a row in its module's summary table and a page of its own, titled
with its public path. The hand-written parts (the toctree of the home page, the include of the
generated toctree in ``docs/api/index.md``) are checked against the files they name.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from pathlib import Path

import pytest

import brainstate

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The modules the reference must cover (issue 19), by their public paths.
MODULES = [
    "brainstate", "brainstate.transform", "brainstate.nn", "brainstate.random", "brainstate.environ",
    "brainstate.graph", "brainstate.util", "brainstate.mixin", "brainstate.typing", "brainstate.surrogate",
    "brainstate.nn.init", "brainstate.nn.optim", "brainstate.sharding",
]


sys.path.insert(0, str(DOCS / "_ext"))  # the docs' Sphinx extensions, importable without Sphinx
import apigen  # noqa: E402
import apixref  # noqa: E402


def expected_names(path: str) -> list[str]:
    """The public names of the module at ``path``, computed here independently of the generator."""
    module = importlib.import_module(path)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name in vars(module) if not name.startswith("_")]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("api")
    apigen.write_api_pages(out)
    return out / apigen.AUTOGEN


def _module_page(written: Path, path: str) -> str:
    """The text of the page documenting module ``path`` (following an alias page to the real one)."""
    text = (written / f"{path}.rst").read_text()
    alias = re.search(r":doc:`(brainstate[\w.]*)`", text) if "another name of the same module" in text else None
    return (written / f"{alias.group(1)}.rst").read_text() if alias else text


def _summary_rows(text: str) -> set[str]:
    rows = set()
    for block in re.findall(r"\.\. autosummary::\n(?:   :\w+:.*\n)*\n((?:   \S.*\n)+)", text):
        rows |= {line.strip() for line in block.splitlines()}
    return rows


def test_the_generator_documents_the_required_modules():
    documented = {page.name for page in apigen.collect()}
    missing = [path for path in MODULES if path not in documented]
    assert not missing, f"docs/_ext/apigen.py MODULES lacks {missing}"


@pytest.mark.parametrize("path", MODULES)
def test_every_public_name_has_a_summary_row_and_a_page(written: Path, path: str):
    text = _module_page(written, path)
    module_name = re.search(r"\.\. currentmodule:: (\S+)", text).group(1)
    rows = _summary_rows(text)
    submodules = set(re.findall(r"^- (?::doc:`|``)brainstate[\w.]*\.(\w+)[ `]", text, re.M))
    pages = {p.name: p for p in (written / "names").glob(f"{module_name}.*.rst")}
    missing_rows, missing_pages = [], []
    for name in expected_names(path):
        if isinstance(getattr(importlib.import_module(path), name), types.ModuleType):
            if name not in submodules:
                missing_rows.append(name)
            continue
        if name not in rows:
            missing_rows.append(name)
        page = pages.get(f"{module_name}.{name}.rst") or next(
            (p for n, p in pages.items() if re.fullmatch(rf"{re.escape(module_name)}\.{re.escape(name)}-\w+\.rst", n)),
            None)
        if page is None:
            missing_pages.append(name)
            continue
        body = page.read_text()
        assert body.splitlines()[2] == f"{module_name}.{name}", f"{page.name} is not titled with the public path"
        assert re.search(rf"^\.\. auto\w+:: {re.escape(name)}$", body, re.M), f"{page.name} documents no {name}"
    assert not missing_rows, f"{path}: no summary row for {missing_rows}"
    assert not missing_pages, f"{path}: no page for {missing_pages}"


def test_pages_show_the_public_path_not_the_wheel(written: Path):
    linear = (written / "names" / "brainstate.nn.Linear.rst").read_text()
    assert ".. currentmodule:: brainstate.nn" in linear and ".. autoclass:: Linear" in linear
    assert "brainstate_nn" not in linear
    jit = (written / "names" / "brainstate.transform.jit.rst").read_text()
    assert ".. autofunction:: jit" in jit and "brainstate.transform.jit\n=====" in jit
    assert (written / "names" / "brainstate.random.RandomState.rst").is_file()
    assert (written / "names" / "brainstate.State.rst").is_file()


def test_names_differing_only_in_case_get_distinct_pages(written: Path):
    if not (hasattr(brainstate.nn, "ReLU") and hasattr(brainstate.nn, "relu")):
        pytest.skip("brainstate.nn has no ReLU/relu pair")
    names = {p.name.lower() for p in (written / "names").glob("brainstate.nn.*.rst")}
    assert "brainstate.nn.relu-class.rst" in names and "brainstate.nn.relu-function.rst" in names


def test_the_api_index_includes_the_generated_toctree(written: Path):
    index = (DOCS / "api" / "index.md").read_text()
    assert re.search(r"```\{include\} " + re.escape(apigen.AUTOGEN) + r"/toc\.md\n```", index)
    toc = (written / "toc.md").read_text()
    entries = re.findall(rf"^/api/{apigen.AUTOGEN}/(\S+)$", toc, re.M)
    assert set(MODULES) <= set(entries)
    assert all((written / f"{entry}.rst").is_file() for entry in entries)


def test_every_toctree_entry_of_the_home_page_exists():
    index = (DOCS / "index.md").read_text()
    blocks = re.findall(r"```\{toctree\}\n(.*?)```", index, re.S)
    entries = [line.strip() for block in blocks for line in block.splitlines()
               if line.strip() and not line.startswith(":")]
    assert "quickstart" in entries and "api/index" in entries
    missing = [entry for entry in entries if not (DOCS / f"{entry}.md").is_file()]
    assert not missing, f"docs/index.md's toctree names pages that do not exist: {missing}"
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")
             if "_build" not in p.parts and not p.name.startswith("_")}
    unlisted = sorted(pages - set(entries) - {"index", "api/index"} - {e for e in pages if e.startswith("api/")})
    assert not unlisted, f"pages in no toctree of docs/index.md: {unlisted}"


@pytest.mark.parametrize(("target", "public"), [
    ("brainstate_nn._linear.Linear", "brainstate.nn.Linear"),
    ("brainstate_nn.Linear", "brainstate.nn.Linear"),
    ("brainstate_core._state.State", "brainstate.State"),
    ("brainstate_transform._jit.jit", "brainstate.transform.jit"),
    ("~brainstate_core._state.State.value", "brainstate.State.value"),
    ("State.to_lanes", "brainstate.State.to_lanes"),
    ("RandomState", "brainstate.random.RandomState"),
])
def test_references_to_private_homes_resolve_to_public_paths(target: str, public: str):
    pages = apigen.collect()
    assert apixref.public_target(target, *apixref.public_index(pages)) == public


def test_a_reference_to_nothing_is_not_resolved():
    pages = apigen.collect()
    assert apixref.public_target("brainstate_nn._linear.NoSuchLayer", *apixref.public_index(pages)) is None
    assert apixref.public_target("NoSuchName", *apixref.public_index(pages)) is None


def test_private_base_classes_are_replaced_by_their_public_bases():
    class _Hidden(brainstate.nn.Module):
        pass

    documented = apixref.public_index(apigen.collect())[0]
    assert apixref._public_bases([_Hidden], documented) == [brainstate.nn.Module]


@pytest.mark.parametrize(("text", "balanced"), [
    ("Parameter initialisers: callables ``(shape", False),
    ("Variants of :class:`Linear` from upstream", True),
    ("``Linear``: the affine map ``x @ W + b``", True),
])
def test_headings_are_cut_only_outside_literals(text: str, balanced: bool):
    assert apigen._balanced(text) is balanced
