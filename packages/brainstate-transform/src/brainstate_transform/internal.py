"""The small internal API of brainstate-transform for the wheels built on it (brainstate-nn).

Users do not need it. It names what brainstate-nn uses beyond the public transformations, so nn never
imports this wheel's private modules:

* :func:`run_new_states` runs a function under a mapping (a :func:`~brainstate_transform.vmap`,
  ``vmap2`` or ``pmap2`` of the caller's choice) so that the States it creates get the lanes' axis;
  :func:`~brainstate_transform.vmap_new_states` is its public form for a plain ``vmap``.

Example:
    >>> import jax.numpy as jnp, brainstate
    >>> from brainstate_transform import internal, vmap
    >>> make = lambda: brainstate.HiddenState(jnp.zeros(3))
    >>> _, created = internal.run_new_states(make, (), {}, None, lambda body: vmap(body, in_axes=None, axis_size=2))
    >>> created[0].value.shape
    (2, 3)
"""

from ._vmap import run_new_states

__all__ = ["run_new_states"]
