"""Mixins: behaviour added to classes by inheritance, without state or ``__init__`` of their own.

- :class:`ParamDesc` gives a class ``desc(...)``, which records constructor arguments in a
  :class:`ParamDescriber` that builds the object later (and identifies equal descriptions).
- :func:`JointTypes` / :func:`OneOfTypes`: "all of these types" / "one of these types", for
  ``isinstance`` and annotations.
- Computation modes (:class:`Mode`, :class:`Training`, :class:`Batching`, :class:`JointMode`).
- :class:`AlignPost` and :class:`BindCondData`: the interfaces of spiking synapse models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from .util._pretty_repr import PrettyAttr, PrettyRepr, PrettyType
from .util._repr_layout import pretty_format

__all__ = [
    "Mixin",
    "ParamDesc",
    "ParamDescriber",
    "JointTypes",
    "OneOfTypes",
    "Mode",
    "JointMode",
    "Batching",
    "Training",
    "AlignPost",
    "BindCondData",
]

T = TypeVar("T")


class Mixin:
    """Base class of the mixins: classes that add methods only (no ``__init__``, no state).

    Example:
        >>> from brainstate_core.mixin import Mixin
        >>> class Describe(Mixin):
        ...     def describe(self):
        ...         return type(self).__name__
        >>> class Layer(Describe):
        ...     pass
        >>> Layer().describe()
        'Layer'
    """

    __slots__ = ()


def _identity(value: Any) -> Any:
    """A hashable stand-in for ``value``: equal for equal plain values, the object's id for arrays
    and other unhashable objects (so two descriptions share an array only if it is the same one)."""
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_identity(v) for v in value))
    if isinstance(value, dict):
        return ("dict", frozenset((k, _identity(v)) for k, v in value.items()))
    if isinstance(value, np.generic):
        return value.item()
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


class ParamDescriber(Generic[T]):
    """The class ``cls`` with constructor arguments, to build instances later (``describer()``).

    Arguments given at the call come after the stored positional ones and override stored
    keyword ones. :attr:`identifier` is equal for two describers of the same class with equal
    arguments (arrays and other unhashable arguments count as equal only if they are the same
    object), so it can key a cache of built objects. ``ParamDescriber[Cls]`` is a describer of
    ``Cls`` without arguments; ``isinstance(d, ParamDescriber[Base])`` tests whether ``d``
    describes a subclass of ``Base``. The class cannot be subclassed.

    Args:
        cls: the class to build.
        *args: stored positional arguments.
        **kwargs: stored keyword arguments.

    Example:
        >>> from brainstate_core.mixin import ParamDesc, ParamDescriber
        >>> class Expon(ParamDesc):
        ...     def __init__(self, size, tau=8.0):
        ...         self.size, self.tau = size, tau
        >>> d = Expon.desc(100, tau=5.0)
        >>> d
        ParamDescriber(Expon(100, tau=5.0))
        >>> d().tau, d(tau=2.0).tau
        (5.0, 2.0)
        >>> d.identifier == Expon.desc(100, tau=5.0).identifier
        True
        >>> isinstance(d, ParamDescriber[Expon])
        True
    """

    __slots__ = ("cls", "args", "kwargs", "_identifier")

    def __init__(self, cls: type[T], *args: Any, **kwargs: Any) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs
        self._identifier = (cls, _identity(args), _identity(kwargs))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("ParamDescriber cannot be subclassed; describe the class with Cls.desc(...) instead.")

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        return self.cls(*self.args, *args, **{**self.kwargs, **kwargs})

    def init(self, *args: Any, **kwargs: Any) -> T:
        """The same as calling the describer."""
        return self(*args, **kwargs)

    @property
    def identifier(self) -> tuple:
        """``(cls, args, kwargs)`` in hashable form; read-only."""
        return self._identifier

    def __class_getitem__(cls, item: type) -> ParamDescriber:  # type: ignore[override]
        return ParamDescriber(item)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, ParamDescriber) and issubclass(instance.cls, self.cls)

    def __repr__(self) -> str:
        items = [pretty_format(a) for a in self.args] + [f"{k}={pretty_format(v)}" for k, v in self.kwargs.items()]
        return f"ParamDescriber({self.cls.__name__}({', '.join(items)}))"


class ParamDesc(Mixin):
    """Gives a class the classmethod ``desc(*args, **kwargs)``, returning a :class:`ParamDescriber`.

    Example:
        >>> from brainstate_core.mixin import ParamDesc
        >>> class Conv(ParamDesc):
        ...     def __init__(self, channels):
        ...         self.channels = channels
        >>> Conv.desc(16)().channels
        16
    """

    __slots__ = ()

    @classmethod
    def desc(cls: type[T], *args: Any, **kwargs: Any) -> ParamDescriber[T]:
        """A describer that builds ``cls(*args, **kwargs)`` when called."""
        return ParamDescriber(cls, *args, **kwargs)


class _TypeCombination:
    """``JointTypes[A, B]`` / ``OneOfTypes[A, B]``: an object ``isinstance`` and ``issubclass`` accept."""

    __slots__ = ("__args__",)
    _name: ClassVar[str]

    def __init__(self, types: tuple) -> None:
        self.__args__ = types

    def _check(self, results: Iterator[bool]) -> bool:
        raise NotImplementedError

    def __instancecheck__(self, obj: Any) -> bool:
        return self._check(isinstance(obj, t) for t in self.__args__)

    def __subclasscheck__(self, cls: type) -> bool:
        return self._check(issubclass(cls, t) for t in self.__args__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and set(other.__args__) == set(self.__args__)

    def __hash__(self) -> int:
        return hash((type(self), frozenset(self.__args__)))

    def __repr__(self) -> str:
        names = ", ".join(f"{t.__module__}.{t.__qualname__}" if isinstance(t, type) else repr(t) for t in self.__args__)
        return f"{self._name}[{names}]"

    def __reduce__(self) -> tuple:
        return type(self), (self.__args__,)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self!r} is a type test for isinstance, issubclass and annotations; it cannot be called.")


class _JointGenericAlias(_TypeCombination):
    __slots__ = ()
    _name = "JointTypes"

    def _check(self, results: Iterator[bool]) -> bool:
        return all(results)


class _OneOfGenericAlias(_TypeCombination):
    __slots__ = ()
    _name = "OneOfTypes"

    def _check(self, results: Iterator[bool]) -> bool:
        return any(results)


class _Combiner:
    def __init__(self, alias: type[_TypeCombination], doc: str) -> None:
        self._alias = alias
        self.__doc__ = doc

    def __call__(self, *types: Any) -> Any:
        name = self._alias._name
        if not types:
            raise TypeError(f"{name} needs at least one type.")
        unique: list = []
        for t in types:
            for part in t.__args__ if type(t) is self._alias else (t,):
                if not isinstance(part, (type, _TypeCombination)):
                    raise TypeError(f"{name} combines classes, got {part!r}.")
                if part not in unique:
                    unique.append(part)
        return unique[0] if len(unique) == 1 else self._alias(tuple(unique))

    def __getitem__(self, item: Any) -> Any:
        return self(*item) if isinstance(item, tuple) else self(item)

    def __repr__(self) -> str:
        return self._alias._name


JointTypes = _Combiner(
    _JointGenericAlias,
    """``JointTypes[A, B]`` (or ``JointTypes(A, B)``): the objects that are instances of every one of the types.

    Repeated types are dropped, order does not matter for equality, nested JointTypes are merged,
    and one type gives that type itself.

    Example:
        >>> from brainstate_core.mixin import JointTypes
        >>> class A: pass
        >>> class B: pass
        >>> class AB(A, B): pass
        >>> isinstance(AB(), JointTypes[A, B]), isinstance(A(), JointTypes[A, B])
        (True, False)
        >>> JointTypes[A, B] == JointTypes[B, A], JointTypes[A, A] is A
        (True, True)
    """,
)

OneOfTypes = _Combiner(
    _OneOfGenericAlias,
    """``OneOfTypes[A, B]`` (or ``OneOfTypes(A, B)``): the objects that are instances of at least one of the types.

    Example:
        >>> from brainstate_core.mixin import OneOfTypes
        >>> isinstance(1, OneOfTypes[int, str]), isinstance(1.0, OneOfTypes[int, str])
        (True, False)
    """,
)


class Mode(Mixin, PrettyRepr):
    """Base class of computation modes (training, batching, ...), which models may consult.

    Two modes are equal (and hash equal) when they are of the same class with the same settings.

    Example:
        >>> from brainstate_core.mixin import Batching, Mode, Training
        >>> mode = Training()
        >>> mode.has(Mode), mode.is_a(Mode), mode.is_a(Training)
        (True, False, True)
        >>> Batching(32) == Batching(32), Batching(32) == Batching(16)
        (True, False)
    """

    def _settings(self) -> tuple:
        return tuple(sorted(vars(self).items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mode):
            return NotImplemented
        return type(other) is type(self) and other._settings() == self._settings()

    def __hash__(self) -> int:
        return hash((type(self), self._settings()))

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield PrettyType(type(self))
        for key, value in vars(self).items():
            yield PrettyAttr(key, value)

    def is_a(self, mode: type) -> bool:
        """Whether this mode is exactly of class ``mode`` (subclasses do not count)."""
        return type(self) is _as_class(mode)

    def has(self, mode: type) -> bool:
        """Whether this mode is an instance of ``mode`` (subclasses count)."""
        return isinstance(self, _as_class(mode))


def _as_class(mode: Any) -> type:
    if not isinstance(mode, type):
        raise TypeError(f"Mode checks take a mode class such as Training, got {mode!r}.")
    return mode


class JointMode(Mode):
    """Several modes at once; attributes are read from the first mode that has them.

    Raises:
        TypeError: an argument is not a :class:`Mode`.

    Example:
        >>> from brainstate_core.mixin import Batching, JointMode, JointTypes, Training
        >>> mode = JointMode(Training(), Batching(batch_size=8))
        >>> mode
        JointMode(Training(), Batching(batch_size=8, batch_axis=0))
        >>> mode.has(Training), mode.batch_size, mode.is_a(JointTypes[Training, Batching])
        (True, 8, True)
    """

    def __init__(self, *modes: Mode) -> None:
        for m in modes:
            if not isinstance(m, Mode):
                raise TypeError(f"JointMode combines Mode instances, got {m!r}.")
        self.modes = tuple(modes)
        self.types = {type(m) for m in modes}

    def _settings(self) -> tuple:
        return (frozenset(self.modes),)

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield PrettyType(type(self))
        for m in self.modes:
            yield PrettyAttr("", m)

    def has(self, mode: type) -> bool:
        """Whether one of the modes is an instance of ``mode``."""
        return any(issubclass(t, _as_class(mode)) for t in self.types)

    def is_a(self, cls: Any) -> bool:
        """Whether the mode classes are exactly ``cls``: a class, or ``JointTypes[...]`` of them."""
        return JointTypes(*self.types) == cls

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("modes", "types"):
            raise AttributeError(name)
        for m in self.modes:
            if hasattr(m, name):
                return getattr(m, name)
        raise AttributeError(f"None of the modes of {self!r} has the attribute {name!r}.")


class Batching(Mode):
    """Computation on batches of ``batch_size`` samples stacked along ``batch_axis``.

    Example:
        >>> from brainstate_core.mixin import Batching
        >>> Batching(batch_size=32)
        Batching(batch_size=32, batch_axis=0)
    """

    def __init__(self, batch_size: int = 1, batch_axis: int = 0) -> None:
        self.batch_size = batch_size
        self.batch_axis = batch_axis


class Training(Mode):
    """Training (as opposed to evaluation): dropout active, running statistics updated, ...

    Example:
        >>> from brainstate_core.mixin import Training
        >>> Training()
        Training()
    """


class AlignPost(Mixin):
    """Interface of a synapse whose input is aligned to its postsynaptic target: it accepts
    input added from outside through :meth:`align_post_input_add`.

    Example:
        >>> from brainstate_core.mixin import AlignPost
        >>> class Expon(AlignPost):
        ...     def __init__(self):
        ...         self.g = 0.0
        ...     def align_post_input_add(self, x):
        ...         self.g += x
        >>> syn = Expon(); syn.align_post_input_add(0.5); syn.g
        0.5
    """

    __slots__ = ()

    def align_post_input_add(self, *args: Any, **kwargs: Any) -> None:
        """Add external input to the synapse; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement align_post_input_add(...).")


class BindCondData(Mixin):
    """Holds a conductance for the current step: :meth:`bind_cond` stores it, :meth:`unbind_cond`
    clears it, and the model reads ``self._conductance`` (None when nothing is bound).

    Example:
        >>> from brainstate_core.mixin import BindCondData
        >>> class Out(BindCondData):
        ...     pass
        >>> out = Out(); out.bind_cond(0.3); out._conductance
        0.3
        >>> out.unbind_cond(); out._conductance is None
        True
    """

    _conductance: Any = None

    def bind_cond(self, conductance: Any) -> None:
        """Store ``conductance`` until :meth:`unbind_cond`."""
        self._conductance = conductance

    def unbind_cond(self) -> None:
        """Forget the bound conductance."""
        self._conductance = None
