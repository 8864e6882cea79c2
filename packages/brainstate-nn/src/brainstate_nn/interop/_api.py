"""The six conversion functions: ``from_*`` builds a brainstate model, ``to_*`` a Flax NNX / Linen / Equinox one.

Each loads its framework on first use (flax or equinox is imported then, never by ``import brainstate``).
"""

from __future__ import annotations

from typing import Any

from ._engine import Context, check_bst_model, check_model, shape_of, to_bst, to_foreign
from ._registry import load_framework

__all__ = ["from_nnx", "to_nnx", "from_linen", "to_linen", "from_equinox", "to_equinox"]


def _import(framework: str, model: Any, caller: str, other: str, sample_input: Any) -> Any:
    adapter = load_framework(framework).ADAPTER
    check_model(model, adapter, caller, other)
    shape = shape_of(sample_input)
    return to_bst(model, adapter, Context(sample_input=shape, cur_size=shape))


def from_nnx(model: Any, *, sample_input: Any = None) -> Any:
    """A brainstate model computing what the ``flax.nnx`` model computes, holding a copy of its weights.

    The weights become ``ParamState`` s (running statistics ``BatchState`` s) of ordinary brainstate
    layers, so ``brainstate.transform.grad`` / ``jit`` and the optimisers train them. The result is
    independent of ``model``: training one does not change the other (convert back with
    :func:`to_nnx`). Single layers, ``nnx.Sequential`` stacks of them, and functions in those stacks
    (``nnx.relu``) convert; anything else raises rather than converting into a different model.

    Args:
        model: an ``nnx.Module``: a layer listed in :func:`supported_layers` or an ``nnx.Sequential``.
        sample_input: one unbatched example, or its shape (channels last). Needed when the model
            holds a convolution or a batch norm, whose brainstate layers are built for one input shape.

    Returns:
        The brainstate module (a ``brainstate.nn.Sequential`` for a stack).

    Raises:
        MissingDependencyError: flax is not installed.
        UnmappedLayerError: ``model`` (or a layer in it) has no conversion.
        UnsupportedLayerError: a layer that deliberately does not convert (the message says why).
        UnsupportedStructureError: a container with its own forward computation.
        MissingShapeError: a convolution or batch norm without ``sample_input``.
        ConversionError: a layer option brainstate cannot reproduce.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> from flax import nnx
        >>> src = nnx.Sequential(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(4, 2, rngs=nnx.Rngs(1)))
        >>> net = brainstate.interop.from_nnx(src)
        >>> x = jnp.ones((5, 3))
        >>> bool(jnp.allclose(net(x), src(x))), type(net).__name__
        (True, 'Sequential')
    """
    return _import("nnx", model, "from_nnx", "to_nnx", sample_input)


def to_nnx(model: Any, *, rngs: Any = None) -> Any:
    """A ``flax.nnx`` model computing what the brainstate ``model`` computes, holding a copy of its weights.

    The weights become ``nnx.Param`` s (running statistics ``nnx.BatchStat`` s), so ``nnx.grad`` /
    ``nnx.jit`` and optax train them; the result is independent of ``model``. Dropout and BatchNorm
    come out in evaluation mode (``deterministic=True`` / ``use_running_average=True``, the mode in
    which their outputs agree across frameworks); ``nnx_model.train()`` switches them to training.

    Args:
        model: a brainstate module: a layer listed in :func:`supported_layers`, or a ``Sequential``
            of them and of functions.
        rngs: the ``nnx.Rngs`` given to the exported Dropout layers (their masks are drawn from
            it); by default one seeded from ``brainstate.random``. The other layers get the
            brainstate weights and draw no random numbers.

    Returns:
        The ``nnx.Module`` (an ``nnx.Sequential`` for a stack).

    Raises:
        MissingDependencyError, UnmappedLayerError, UnsupportedLayerError, UnsupportedStructureError,
        ConversionError: as in :func:`from_nnx`.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> layer = brainstate.nn.Linear(3, 2)
        >>> dst = brainstate.interop.to_nnx(layer)
        >>> type(dst).__name__, bool(jnp.allclose(dst(jnp.ones(3)), layer(jnp.ones(3))))
        ('Linear', True)
    """
    adapter = load_framework("nnx").ADAPTER
    check_bst_model(model, "nnx", "to_nnx", "from_nnx")
    return to_foreign(model, adapter, Context(rngs=rngs))


def from_linen(module: Any, params: Any, *, sample_input: Any = None) -> Any:
    """A brainstate model computing what ``module.apply(params, x)`` computes, holding a copy of the weights.

    Args:
        module: the ``flax.linen`` module (a supported layer or an ``nn.Sequential``).
        params: its variables, as returned by ``module.init(key, x)``: ``{'params': ...}``, plus
            ``'batch_stats'`` when it has batch norms.
        sample_input: as in :func:`from_nnx`.

    Returns:
        The brainstate module.

    Raises:
        ConversionError: ``params`` is not a variables dict (e.g. ``params['params']`` alone), or a
            layer option brainstate cannot reproduce. Others as in :func:`from_nnx`.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> import flax.linen as nn
        >>> module = nn.Sequential([nn.Dense(4), jax.nn.relu, nn.Dense(2)])
        >>> variables = module.init(jax.random.key(0), jnp.ones((1, 3)))
        >>> net = brainstate.interop.from_linen(module, variables)
        >>> bool(jnp.allclose(net(jnp.ones((5, 3))), module.apply(variables, jnp.ones((5, 3)))))
        True
    """
    fw = load_framework("linen")
    adapter = fw.ADAPTER
    check_model(module, adapter, "from_linen", "to_linen")
    shape = shape_of(sample_input)
    node = fw.LinenLayer(module, fw.as_variables(params, "from_linen"))
    return to_bst(node, adapter, Context(sample_input=shape, cur_size=shape))


def to_linen(model: Any) -> tuple[Any, dict]:
    """A ``flax.linen`` ``(module, variables)`` pair computing what the brainstate ``model`` computes.

    ``variables`` is a plain dict (what ``module.init`` returns in current Flax; upstream brainstate
    returned a ``FrozenDict``, which ``module.apply`` accepts as well): ``{'params': ...}``, plus
    ``'batch_stats'`` for batch norms, which come out with ``use_running_average=True``.

    Args:
        model: a brainstate module, as in :func:`to_nnx`.

    Returns:
        ``(module, variables)``, to be used as ``module.apply(variables, x)``.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> net = brainstate.nn.Sequential(brainstate.nn.Linear(3, 4), brainstate.nn.LayerNorm(4))
        >>> module, variables = brainstate.interop.to_linen(net)
        >>> sorted(variables['params'])
        ['layers_0', 'layers_1']
        >>> bool(jnp.allclose(module.apply(variables, jnp.ones((2, 3))), net(jnp.ones((2, 3))), atol=1e-5))
        True
    """
    fw = load_framework("linen")
    check_bst_model(model, "linen", "to_linen", "from_linen")
    node = fw.LinenLayer(*to_foreign(model, fw.ADAPTER, Context()))
    return node.module, node.variables


def from_equinox(model: Any, *, sample_input: Any = None) -> Any:
    """A brainstate model computing what the ``equinox`` model computes, holding a copy of its weights.

    Equinox layers take one example, brainstate's a batch: ``bst_model(x)[i]`` equals
    ``eqx_model(x[i])``. Equinox convolutions and group norms are channels-first and brainstate's
    channels-last, so a converted convolution computes the same numbers on ``jnp.moveaxis(x, 0, -1)``;
    ``sample_input`` is in brainstate's layout (channels last). BatchNorm does not convert (equinox
    keeps its statistics outside the model). ``eqx.nn.Lambda`` layers convert to their function.

    Args:
        model: an ``eqx.Module``: a supported layer or an ``eqx.nn.Sequential``.
        sample_input: as in :func:`from_nnx`.

    Returns:
        The brainstate module.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp, equinox as eqx
        >>> src = eqx.nn.Linear(3, 2, key=jax.random.key(0))
        >>> layer = brainstate.interop.from_equinox(src)
        >>> bool(jnp.allclose(layer(jnp.ones((4, 3))), jax.vmap(src)(jnp.ones((4, 3)))))
        True
    """
    return _import("equinox", model, "from_equinox", "to_equinox", sample_input)


def to_equinox(model: Any, *, key: Any = None) -> Any:
    """An ``equinox`` model computing what the brainstate ``model`` computes, holding a copy of its weights.

    Its weights are the array leaves of an ``eqx.Module`` pytree, so ``eqx.filter_grad`` /
    ``eqx.filter_jit`` and optax train them. Dropout comes out with ``inference=True``; functions in
    a ``Sequential`` are wrapped in ``eqx.nn.Lambda``.

    Args:
        model: a brainstate module, as in :func:`to_nnx`.
        key: accepted for upstream compatibility: the equinox layers are built abstractly and
            then given the brainstate weights, so no random numbers are drawn from it.

    Returns:
        The ``eqx.Module``.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> layer = brainstate.nn.Linear(3, 2)
        >>> dst = brainstate.interop.to_equinox(layer)
        >>> dst.weight.shape, bool(jnp.allclose(dst(jnp.ones(3)), layer(jnp.ones(3))))
        ((2, 3), True)
    """
    adapter = load_framework("equinox").ADAPTER
    check_bst_model(model, "equinox", "to_equinox", "from_equinox")
    return to_foreign(model, adapter, Context(key=key))
