"""Python source from jaxprs: one ``jax.lax`` call per equation, in a function that runs like the original.

Each primitive has a rule that writes the call for one equation from the source of its inputs; the
rules for ``jit``, ``custom_jvp_call``, ``checkpoint``, ``cond``, ``while`` and ``scan`` write their bodies as
nested functions. A primitive without a rule is an error naming it; :func:`register_prim_handler`
adds a rule.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend.core as jc
import numpy as np

from brainstate_core import InputError

from ._jaxpr_build import DropVar, Program, is_var, split

__all__ = ["jaxpr_to_python_code", "fn_to_python_code", "register_prim_handler"]

Handler = Callable[[jc.JaxprEqn, Sequence[str]], str]
_HANDLERS: dict[str, Handler] = {}

_HEADER = "import jax\nimport jax.numpy as jnp\nimport numpy as np\nfrom jax import lax\n"


def register_prim_handler(prim_name: str, handler: Handler) -> None:
    """Teach :func:`jaxpr_to_python_code` to write equations of the primitive named ``prim_name``.

    ``handler(eqn, args)`` gets the equation and the Python source of each of its inputs, and returns
    the source of an expression computing its output (a sequence of outputs for a primitive with
    several). The generated module has ``jax``, ``jnp``, ``np`` and ``lax`` in scope. A rule registered
    for a primitive that has one replaces it.

    Args:
        prim_name: the primitive's name, as printed in jaxprs (``str(eqn.primitive)``).
        handler: the rule.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> brainstate.transform.register_prim_handler(
        ...     "sort", lambda eqn, args: f"[jnp.sort({args[0]}, axis={eqn.params['dimension']})]")
        >>> closed = jax.make_jaxpr(jax.lax.sort)(jnp.ones(3))
        >>> print(brainstate.transform.jaxpr_to_python_code(closed, "f"), end="")
        import jax
        import jax.numpy as jnp
        import numpy as np
        from jax import lax
        <BLANKLINE>
        <BLANKLINE>
        def f(v0):
            v1, = [jnp.sort(v0, axis=0)]
            return v1
    """
    if not callable(handler):
        raise InputError(f"register_prim_handler: the handler for {prim_name!r} must be callable, got "
                         f"{type(handler).__name__}.")
    _HANDLERS[prim_name] = handler


def _call(fn: str, *params: str) -> Handler:
    """A rule writing ``fn(inputs..., params...)``; each param is formatted from ``eqn.params``."""

    def rule(eqn: jc.JaxprEqn, args: Sequence[str]) -> str:
        fields = _Fields({k: _value(v) for k, v in eqn.params.items()})
        return f"{fn}({', '.join([*args, *(p.format_map(fields) for p in params)])})"

    return rule


class _Fields(dict):
    """Parameters for a rule's template; one this JAX version does not have reads as ``None``."""

    def __missing__(self, key: str) -> str:
        return "None"


def _value(x: Any) -> str:
    """Source for a parameter value: a dtype, an enum, or a (nested) tuple of numbers."""
    if isinstance(x, np.dtype) or (isinstance(x, type) and issubclass(x, np.generic)):
        return f"jnp.dtype({np.dtype(x).name!r})"
    if isinstance(x, (tuple, list)):
        inner = ", ".join(_value(v) for v in x)
        return f"({inner},)" if len(x) == 1 else f"({inner})"
    if hasattr(x, "name") and type(x).__module__.startswith("jax"):  # enums such as lax.Precision
        return f"lax.{type(x).__name__}.{x.name}"
    return repr(x)


for _name in ("add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "nextafter", "eq", "ne", "lt",
              "le", "gt", "ge", "shift_left", "shift_right_logical", "shift_right_arithmetic", "neg", "sign",
              "floor", "ceil", "is_finite", "exp", "exp2", "log", "log1p", "expm1", "tanh", "logistic", "sin",
              "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "sqrt", "rsqrt",
              "cbrt", "abs", "square", "erf", "erfc", "erf_inv", "lgamma", "digamma", "real", "imag", "conj",
              "select_n", "clamp", "population_count", "clz"):
    _HANDLERS[_name] = _call(f"lax.{_name}")
for _name, _fn in (("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"), ("not", "bitwise_not")):
    _HANDLERS[_name] = _call(f"lax.{_fn}")
for _name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or"):
    _HANDLERS[_name] = _call(f"lax.{_name}", "{axes}")
for _name in ("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"):
    _HANDLERS[_name] = _call(f"lax.{_name}", "axis={axis}", "reverse={reverse}")
for _name in ("argmax", "argmin"):
    _HANDLERS[_name] = _call(f"lax.{_name}", "{axes}[0]", "{index_dtype}")
_HANDLERS.update({
    "integer_pow": _call("lax.integer_pow", "{y}"),
    "round": _call("lax.round", "{rounding_method}"),
    "convert_element_type": _call("lax.convert_element_type", "{new_dtype}"),
    "broadcast_in_dim": _call("lax.broadcast_in_dim", "{shape}", "{broadcast_dimensions}"),
    "reshape": _call("lax.reshape", "{new_sizes}", "dimensions={dimensions}"),
    "squeeze": _call("lax.squeeze", "{dimensions}"),
    "expand_dims": _call("lax.expand_dims", "{dimensions}"),
    "transpose": _call("lax.transpose", "{permutation}"),
    "rev": _call("lax.rev", "{dimensions}"),
    "pad": _call("lax.pad", "{padding_config}"),
    "iota": _call("lax.broadcasted_iota", "{dtype}", "{shape}", "{dimension}"),
    "slice": _call("lax.slice", "{start_indices}", "{limit_indices}", "{strides}"),
    "dot_general": _call("lax.dot_general", "{dimension_numbers}", "precision={precision}",
                         "preferred_element_type={preferred_element_type}"),
    "concatenate": lambda eqn, args: f"lax.concatenate([{', '.join(args)}], {eqn.params['dimension']})",
    "dynamic_slice": lambda eqn, args: (f"lax.dynamic_slice({args[0]}, [{', '.join(args[1:])}], "
                                        f"{_value(eqn.params['slice_sizes'])})"),
    "dynamic_update_slice": lambda eqn, args: (f"lax.dynamic_update_slice({args[0]}, {args[1]}, "
                                               f"[{', '.join(args[2:])}])"),
    "copy": lambda eqn, args: args[0],
    "copy_p": lambda eqn, args: args[0],
})

# Primitives whose body is a jaxpr in a parameter, called on all the equation's inputs; the value is
# the wrapper applied to the nested function (the custom derivative rules are not kept).
_CALLS = {"pjit": "jax.jit", "jit": "jax.jit", "checkpoint": "jax.checkpoint", "remat2": "jax.checkpoint",
          "closed_call": "", "core_call": "", "custom_jvp_call": "", "custom_vjp_call": "",
          "custom_vjp_call_jaxpr": ""}


def _scalar(value: Any, dtype: np.dtype) -> str:
    module = "np" if hasattr(np, dtype.name) else "jnp"
    x = value.item()
    text = repr(x) if not isinstance(x, float) or math.isfinite(x) else repr(str(x))
    return f"{module}.{dtype.name}({text})"


def _array(value: Any) -> str:
    """Source rebuilding ``value`` bit for bit (NaNs, infinities and signed zeros included)."""
    try:
        x = np.asarray(value)
    except Exception as err:  # noqa: BLE001 - key arrays and other extended dtypes
        raise InputError(f"jaxpr_to_python_code cannot write a constant of type {jax.typeof(value)}.") from err
    if x.shape == ():
        return _scalar(x, x.dtype)
    dtype = f"jnp.dtype({x.dtype.name!r})"
    plain = x.dtype.kind in "biu" or (x.dtype.kind == "f" and bool(np.all(np.isfinite(x) & ((x != 0) | ~np.signbit(x)))))
    if x.size <= 16 and plain:  # small and exactly written by its list of numbers
        return f"np.asarray({x.tolist()!r}, dtype={dtype})"
    return f"np.frombuffer(bytes.fromhex({x.tobytes().hex()!r}), dtype={dtype}).reshape({x.shape!r})"


class _Writer:
    """Names the variables and collects the lines of the generated module."""

    def __init__(self) -> None:
        self.names: dict = {}
        self.functions = 0

    def bind(self, var: Any) -> str:
        if isinstance(var, DropVar):
            return "_"
        self.names[var] = f"v{len(self.names)}"
        return self.names[var]

    def atom(self, atom: Any) -> str:
        return self.names[atom] if is_var(atom) else _array(np.asarray(atom.val, dtype=atom.aval.dtype))

    def function(self, program: Program, name: str, indent: str, always_tuple: bool) -> list[str]:
        args = [self.bind(v) for v in program.invars]
        lines = [f"{indent}def {name}({', '.join(args)}):"]
        inner = indent + "    "
        for var, value in zip(program.constvars, program.consts or ()):
            lines.append(f"{inner}{self.bind(var)} = {_array(value)}")
        for eqn in program.eqns:
            lines += self.equation(eqn, inner)
        outs = [self.atom(v) for v in program.outvars]
        if len(outs) == 1 and not always_tuple:
            lines.append(f"{inner}return {outs[0]}")
        else:
            lines.append(f"{inner}return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
        return lines

    def nested(self, jaxpr: Any, indent: str) -> tuple[str, list[str]]:
        self.functions += 1
        name = f"f{self.functions}"
        return name, self.function(split(jaxpr, "jaxpr_to_python_code"), name, indent, always_tuple=True)

    def equation(self, eqn: jc.JaxprEqn, indent: str) -> list[str]:
        prim = str(eqn.primitive)
        args = [self.atom(v) for v in eqn.invars]
        lines: list[str] = []
        if prim in _HANDLERS:
            expr = _HANDLERS[prim](eqn, args)
            several = eqn.primitive.multiple_results
        elif prim in _CALLS:
            body = next(eqn.params[k] for k in ("jaxpr", "call_jaxpr", "fun_jaxpr") if k in eqn.params)
            name, lines = self.nested(body, indent)
            fn = f"{_CALLS[prim]}({name})" if _CALLS[prim] else name
            expr, several = f"{fn}({', '.join(args)})", True
        elif prim == "cond":
            names = []
            for branch in eqn.params["branches"]:
                name, more = self.nested(branch, indent)
                names.append(name)
                lines += more
            expr, several = f"lax.switch({args[0]}, [{', '.join(names)}], {', '.join(args[1:])})", True
        elif prim == "while":
            nc, nb = eqn.params["cond_nconsts"], eqn.params["body_nconsts"]
            cond, more = self.nested(eqn.params["cond_jaxpr"], indent)
            body, lines = self.nested(eqn.params["body_jaxpr"], indent)
            lines = more + lines
            cargs, bargs, init = args[:nc], args[nc:nc + nb], args[nc + nb:]
            expr = (f"lax.while_loop(lambda c: {cond}({''.join(a + ', ' for a in cargs)}*c)[0], "
                    f"lambda c: {body}({''.join(a + ', ' for a in bargs)}*c), ({', '.join(init)},))")
            several = True
        elif prim == "scan":  # body(consts, carry, xs) -> (carry, ys); lax.scan takes and gives them apart
            p = eqn.params
            nc, nk = _scan_counts(p)
            body, lines = self.nested(p["jaxpr"], indent)
            consts, carry, xs = args[:nc], args[nc:nc + nk], args[nc + nk:]
            step = (f"lambda c, x: (lambda o: (o[:{nk}], o[{nk}:]))({body}({''.join(a + ', ' for a in consts)}"
                    f"*c, *x))")
            expr = (f"(lambda r: (*r[0], *r[1]))(lax.scan({step}, ({''.join(a + ', ' for a in carry)}), "
                    f"({''.join(a + ', ' for a in xs)}), length={p['length']}, reverse={p['reverse']}))")
            several = True
        else:
            raise InputError(
                f"jaxpr_to_python_code has no rule for the primitive {prim!r}. Fix: register one with "
                f"brainstate.transform.register_prim_handler({prim!r}, lambda eqn, args: '<expression>')."
            )
        outs = [self.bind(v) for v in eqn.outvars]
        if not outs:
            return [*lines, f"{indent}{expr}"]
        target = ", ".join(outs) + ("," if several and len(outs) == 1 else "")
        return [*lines, f"{indent}{target} = {expr}"]


def _scan_counts(params: dict) -> tuple[int, int]:
    """How many of a scan equation's inputs are constants, and how many carries.

    Older JAX gives them as ``num_consts`` / ``num_carry``; newer JAX (0.12.0.1) packs the groups of
    inputs (constants, carries, xs) in ``ft_in``.
    """
    if "num_consts" in params:
        return params["num_consts"], params["num_carry"]
    consts, carry, _ = params["ft_in"].unpack()
    return len(consts), len(carry)


def _identifier(name: Any) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return "generated_function"
    return name


def jaxpr_to_python_code(jaxpr: Any, fn_name: str = "generated_function") -> str:
    """The source of a Python module defining ``fn_name``, a function computing what ``jaxpr`` computes.

    The function takes the jaxpr's inputs, in order, and returns its single output, or a tuple of its
    outputs; the constants of a ``ClosedJaxpr`` are written into the function (bit for bit), as are the
    bodies of nested ``jit``, ``cond``, ``while`` and ``scan`` equations. Custom derivative rules are not
    kept: the code computes the same values, and JAX differentiates it directly.

    Args:
        jaxpr: a ``ClosedJaxpr``, or a ``Jaxpr`` without constvars.
        fn_name: the name of the generated function (``"generated_function"`` if not an identifier).

    Returns:
        The module source; ``exec`` it and call ``fn_name``.

    Raises:
        InputError: ``jaxpr`` is not a jaxpr, has unbound constvars, or uses a primitive with no rule
            (see :func:`register_prim_handler`).

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> closed = jax.make_jaxpr(lambda x, y: jnp.sin(x) * y + 1.0)(1.0, 2.0)
        >>> print(brainstate.transform.jaxpr_to_python_code(closed, "f").split("\\n\\n\\n")[1])
        def f(v0, v1):
            v2 = lax.sin(v0)
            v3 = lax.mul(v2, v1)
            v4 = lax.add(v3, np.float32(1.0))
            return v4
    """
    program = split(jaxpr, "jaxpr_to_python_code")
    if program.constvars and program.consts is None:
        raise InputError(
            f"jaxpr_to_python_code got an open Jaxpr with {len(program.constvars)} constvar(s) and no "
            "values for them. Fix: pass the ClosedJaxpr (jax.make_jaxpr(f)(*args)), not its .jaxpr."
        )
    lines = _Writer().function(program, _identifier(fn_name), "", always_tuple=False)
    return _HEADER + "\n\n" + "\n".join(lines) + "\n"


def fn_to_python_code(fn: Callable, *args: Any, **kwargs: Any) -> str:
    """The source of a Python module defining a function computing what ``fn(*args, **kwargs)`` computes.

    ``fn`` is traced with ``jax.make_jaxpr`` (a State it reads is a constant of the trace). The
    generated function has ``fn``'s name and takes the array leaves of the arguments, in order; when
    the arguments are not a flat list of arrays, it takes ``(*args, **kwargs)`` like ``fn`` and
    flattens them. It returns the leaves of ``fn``'s result (one value, or a tuple).

    Args:
        fn: the function.
        *args: positional arguments to trace ``fn`` with.
        **kwargs: keyword arguments to trace ``fn`` with.

    Returns:
        The module source.

    Raises:
        InputError: as :func:`jaxpr_to_python_code`.

    Example:
        >>> import jax.numpy as jnp, brainstate
        >>> def step(x, y):
        ...     return jnp.maximum(x, y) * 2.0
        >>> source = brainstate.transform.fn_to_python_code(step, jnp.ones(3), jnp.zeros(3))
        >>> namespace = {}
        >>> exec(source, namespace)
        >>> namespace["step"](jnp.arange(3.0), jnp.ones(3))
        Array([2., 2., 4.], dtype=float32)
    """
    closed = jax.make_jaxpr(fn)(*args, **kwargs)
    name = _identifier(getattr(fn, "__name__", None))
    flat = not kwargs and len(jax.tree.leaves(args)) == len(args)
    if flat:
        return jaxpr_to_python_code(closed, name)
    source = jaxpr_to_python_code(closed, "_" + name)
    return (f"{source}\n\ndef {name}(*args, **kwargs):\n"
            f"    return _{name}(*jax.tree_util.tree_leaves((args, kwargs)))\n")
