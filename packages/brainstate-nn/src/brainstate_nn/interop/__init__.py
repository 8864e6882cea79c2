"""Convert models between brainstate and Flax NNX, Flax Linen and Equinox (``brainstate.interop``).

``from_nnx`` / ``from_linen`` / ``from_equinox`` build a brainstate model that computes what the
foreign model computes, with a copy of its weights in brainstate States; ``to_nnx`` / ``to_linen``
/ ``to_equinox`` go the other way. What converts: the layers listed by :func:`supported_layers`,
``Sequential`` stacks of them, and functions (activations) inside those stacks. What does not
raises an :class:`InteropError` saying why, never a silently different model. A conversion
copies: the two models are independent afterwards.

Flax and Equinox are optional (``pip install 'brainstate-nn[flax]'`` / ``[equinox]``); they are
imported by the first conversion that needs them, never by ``import brainstate``.

Example:
    >>> import brainstate, jax.numpy as jnp
    >>> from flax import nnx
    >>> net = brainstate.interop.from_nnx(nnx.Linear(3, 2, rngs=nnx.Rngs(0)))
    >>> net.weight
    ParamState({'weight': f32[3,2], 'bias': f32[2]})
    >>> back = brainstate.interop.to_nnx(net)
    >>> bool(jnp.array_equal(back.kernel[...], net.weight.value['weight']))
    True
"""

from __future__ import annotations

from ._api import from_equinox as from_equinox
from ._api import from_linen as from_linen
from ._api import from_nnx as from_nnx
from ._api import to_equinox as to_equinox
from ._api import to_linen as to_linen
from ._api import to_nnx as to_nnx
from ._errors import ConversionError as ConversionError
from ._errors import InteropError as InteropError
from ._errors import MissingDependencyError as MissingDependencyError
from ._errors import MissingShapeError as MissingShapeError
from ._errors import UnmappedLayerError as UnmappedLayerError
from ._errors import UnsupportedLayerError as UnsupportedLayerError
from ._errors import UnsupportedStructureError as UnsupportedStructureError
from ._registry import LayerMapping as LayerMapping
from ._registry import register_layer_mapping as register_layer_mapping
from ._registry import supported_layers as supported_layers

__all__ = [
    "from_nnx", "to_nnx", "from_linen", "to_linen", "from_equinox", "to_equinox",
    "register_layer_mapping", "supported_layers", "LayerMapping",
    "InteropError", "MissingDependencyError", "UnmappedLayerError", "UnsupportedLayerError",
    "UnsupportedStructureError", "MissingShapeError", "ConversionError",
]
