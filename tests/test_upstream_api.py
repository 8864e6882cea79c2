"""Upstream brainstate's public names: every one exists here, or is in the documented omission list.

``tests/upstream_api/<module>.txt`` holds the names of upstream's ``__all__`` for each module
(release 0.6.0; see its README). The modules parity issues have brought over must have every name,
except those listed in ``tests/upstream_api/omitted.txt`` with a reason (also in docs/migration.md).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import brainstate  # noqa: F401  (registers the submodule aliases)

HERE = Path(__file__).resolve().parent / "upstream_api"

COMPLETE = ["brainstate", "brainstate.environ", "brainstate.graph", "brainstate.random", "brainstate.util",
            "brainstate.util.filter", "brainstate.util.struct", "brainstate.mixin", "brainstate.typing",
            "brainstate.transform", "brainstate.surrogate", "brainstate.nn", "brainstate.nn.init",
            "brainstate.interop"]


def upstream_names(module: str) -> list[str]:
    lines = (HERE / f"{module}.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#") and not line.startswith("_")]


def omitted() -> dict[tuple[str, str], str]:
    """``(module, name) -> reason`` from omitted.txt (lines ``module name: reason``)."""
    table = {}
    for line in (HERE / "omitted.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            where, reason = line.split(":", 1)
            module, name = where.split()
            table[module, name] = reason.strip()
    return table


def present(module: str, name: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


@pytest.mark.parametrize("module", COMPLETE)
def test_every_upstream_name_exists_or_is_omitted_with_a_reason(module):
    skip = omitted()
    missing = [n for n in upstream_names(module) if not present(module, n) and (module, n) not in skip]
    assert not missing, f"{module}: upstream names missing here and not in tests/upstream_api/omitted.txt: {missing}"


def test_the_omission_list_is_short_and_every_entry_has_a_reason_and_is_still_missing():
    table = omitted()
    assert len(table) <= 25
    for (module, name), reason in table.items():
        assert module in COMPLETE and name in upstream_names(module), f"{module} {name}: not an upstream name"
        assert len(reason.split()) >= 4, f"{module} {name}: give a reason"
        assert not present(module, name), f"{module} {name} exists now: remove it from omitted.txt"
    migration = (Path(__file__).resolve().parents[1] / "docs" / "migration.md").read_text()
    for _module, name in table:
        assert f"`{name}`" in migration, f"docs/migration.md must name the omitted {name}"
