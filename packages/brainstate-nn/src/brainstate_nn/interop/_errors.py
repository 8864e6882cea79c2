"""The errors of :mod:`brainstate.interop`: one base class, one subclass per way a conversion can fail."""

from __future__ import annotations

from brainstate_core import BrainStateError
from brainstate_transform import MissingDependencyError as _BaseMissingDependencyError

__all__ = [
    "InteropError",
    "MissingDependencyError",
    "UnmappedLayerError",
    "UnsupportedLayerError",
    "UnsupportedStructureError",
    "MissingShapeError",
    "ConversionError",
]


class InteropError(BrainStateError):
    """Base class of every error raised by :mod:`brainstate.interop` (a :class:`~brainstate.BrainStateError`).

    Example:
        >>> import brainstate
        >>> issubclass(brainstate.interop.ConversionError, brainstate.interop.InteropError)
        True
    """


class MissingDependencyError(InteropError, _BaseMissingDependencyError):
    """The framework a conversion needs (``flax`` or ``equinox``) is not installed.

    It is also a :class:`brainstate.transform.MissingDependencyError` and an ``ImportError``.

    Args:
        package: the missing package, e.g. ``'flax'``.
        install_hint: the command that installs it.

    Example:
        >>> import brainstate
        >>> err = brainstate.interop.MissingDependencyError('flax', "pip install 'brainstate-nn[flax]'")
        >>> err.package, isinstance(err, ImportError)
        ('flax', True)
    """

    def __init__(self, package: str, install_hint: str) -> None:
        self.package = package
        self.install_hint = install_hint
        super().__init__(f"This conversion needs the optional dependency {package!r}, which is not installed. "
                         f"Fix: {install_hint}")


class UnmappedLayerError(InteropError, TypeError):
    """No conversion is registered for a layer type (or the object is not a model of the expected framework).

    Args:
        layer_type: the type that has no mapping.
        framework: ``'nnx'``, ``'linen'`` or ``'equinox'``.
        message: replaces the default message (which names the type and how to register a mapping).
    """

    def __init__(self, layer_type: type, framework: str, message: str | None = None) -> None:
        self.layer_type = layer_type
        self.framework = framework
        if message is None:
            name = f"{layer_type.__module__}.{layer_type.__qualname__}"
            message = (f"No {framework} conversion is registered for the layer type {name}. Fix: register one with "
                       "`brainstate.interop.register_layer_mapping(LayerMapping(...))`, or replace the layer by one "
                       "listed in `brainstate.interop.supported_layers()`.")
        super().__init__(message)


class UnsupportedLayerError(InteropError):
    """A known layer type that deliberately does not convert; the message says why (e.g. a different formula)."""


class UnsupportedStructureError(InteropError):
    """A container whose forward computation cannot be rebuilt: only single layers and ``Sequential`` stacks convert."""


class MissingShapeError(InteropError, ValueError):
    """Importing a layer whose brainstate form needs the input shape (a convolution, a batch norm) without it.

    Fix: pass ``sample_input=`` (one unbatched example, channels last, or its shape) to the conversion.
    """


class ConversionError(InteropError, ValueError):
    """A layer's configuration or weights have no faithful counterpart (an option, a shape, a non-zero bias)."""
