"""``brainstate.interop``: the module :mod:`brainstate_nn.interop` itself, under its public name."""

from typing import TYPE_CHECKING

from ._alias import alias_module

if TYPE_CHECKING:  # static analysers cannot follow the sys.modules alias below
    from brainstate_nn.interop import *  # noqa: F403

alias_module(__name__, "brainstate_nn.interop")
