"""``brainstate.sharding``: the module :mod:`brainstate_core.sharding` itself, under its public name."""

from typing import TYPE_CHECKING

from ._alias import alias_module

if TYPE_CHECKING:  # static analysers cannot follow the sys.modules alias below
    from brainstate_core.sharding import *  # noqa: F403

alias_module(__name__, "brainstate_core.sharding")
