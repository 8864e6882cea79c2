"""brainstate-transform: state-aware jit, autodiff, vmap, loops and control flow over one primitive."""

from brainstate_core.internal import set_public_home as _set_public_home

from . import internal as _internal  # loaded with the package, so its doctests import it once
from ._autograd import grad as grad
from ._autograd import hessian as hessian
from ._autograd import jacfwd as jacfwd
from ._autograd import jacobian as jacobian
from ._autograd import jacrev as jacrev
from ._autograd import jvp as jvp
from ._autograd import vector_grad as vector_grad
from ._autograd import vjp as vjp
from ._bounded import bounded_while_loop as bounded_while_loop
from ._checkify import all_checks as all_checks
from ._checkify import automatic_checks as automatic_checks
from ._checkify import check as check
from ._checkify import check_error as check_error
from ._checkify import checkify as checkify
from ._checkify import div_checks as div_checks
from ._checkify import float_checks as float_checks
from ._checkify import index_checks as index_checks
from ._checkify import nan_checks as nan_checks
from ._checkify import user_checks as user_checks
from ._conditions import cond as cond
from ._conditions import ifelse as ifelse
from ._conditions import switch as switch
from ._debug import DebugNanError as DebugNanError
from ._debug import breakpoint_if as breakpoint_if
from ._debug import debug_nan as debug_nan
from ._debug import debug_nan_if as debug_nan_if
from ._debug import unvmap as unvmap
from ._fwd_grad import GradientTransform as GradientTransform
from ._fwd_grad import fwd_grad as fwd_grad
from ._inspect import StateFinder as StateFinder
from ._inspect import in_new_state_probe as in_new_state_probe
from ._inspect import named_call as named_call
from ._jaxpr_build import eqns_to_closed_jaxpr as eqns_to_closed_jaxpr
from ._jaxpr_build import eqns_to_jaxpr as eqns_to_jaxpr
from ._jaxpr_build import inline_jit as inline_jit
from ._jaxpr_code import fn_to_python_code as fn_to_python_code
from ._jaxpr_code import jaxpr_to_python_code as jaxpr_to_python_code
from ._jaxpr_code import register_prim_handler as register_prim_handler
from ._jaxpr_draw import MissingDependencyError as MissingDependencyError
from ._jaxpr_draw import draw as draw
from ._jaxpr_draw import draw_dot_graph as draw_dot_graph
from ._jaxpr_draw import view_pydot as view_pydot
from ._jaxpr_optim import common_subexpression_elimination as common_subexpression_elimination
from ._jaxpr_optim import constant_fold as constant_fold
from ._jaxpr_optim import dead_code_elimination as dead_code_elimination
from ._jaxpr_optim import optimize_jaxpr as optimize_jaxpr
from ._jaxpr_simplify import algebraic_simplification as algebraic_simplification
from ._jaxpr_simplify import copy_propagation as copy_propagation
from ._jit import jit as jit
from ._loops import checkpointed_for_loop as checkpointed_for_loop
from ._loops import checkpointed_scan as checkpointed_scan
from ._loops import for_loop as for_loop
from ._loops import fori_loop as fori_loop
from ._loops import scan as scan
from ._loops import while_loop as while_loop
from ._mapping2 import StatefulMapping as StatefulMapping
from ._mapping2 import map as map  # noqa: A004 - mirrors jax.lax.map
from ._mapping2 import pmap2 as pmap2
from ._mapping2 import pmap2_new_states as pmap2_new_states
from ._mapping2 import vmap2 as vmap2
from ._mapping2 import vmap2_new_states as vmap2_new_states
from ._misc import checkpoint as checkpoint
from ._misc import eval_shape as eval_shape
from ._misc import jit_error_if as jit_error_if
from ._misc import named_scope as named_scope
from ._misc import remat as remat
from ._pmap import pmap as pmap
from ._progress import ProgressBar as ProgressBar
from ._shard_map import ShardMapFunction as ShardMapFunction
from ._shard_map import shard_map as shard_map
from ._stateful import StatefulFunction as StatefulFunction
from ._stateful import make_jaxpr as make_jaxpr
from ._vmap import vmap as vmap
from ._vmap import vmap_new_states as vmap_new_states

globals().pop("internal", None)  # the submodule import bound it: the internal API is not a public name
del _internal

_set_public_home(globals(), __name__)  # brainstate_transform.jit, not brainstate_transform._jit.jit
del _set_public_home

__version__ = "0.6.0"


def get_states(fun, *args, **kwargs):
    """States ``fun`` touches when called with these arguments, in order of first access."""
    return StatefulFunction(fun).get_states(*args, **kwargs)


def get_read_states(fun, *args, **kwargs):
    """States ``fun`` reads but never writes when called with these arguments."""
    return StatefulFunction(fun).get_read_states(*args, **kwargs)


def get_write_states(fun, *args, **kwargs):
    """States ``fun`` writes when called with these arguments."""
    return StatefulFunction(fun).get_write_states(*args, **kwargs)
