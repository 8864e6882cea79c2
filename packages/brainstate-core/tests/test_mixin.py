"""Tests of brainstate_core.mixin: parameter describers, type combinations, modes, synapse interfaces."""

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_core.mixin import (
    AlignPost,
    Batching,
    BindCondData,
    JointMode,
    JointTypes,
    Mixin,
    Mode,
    OneOfTypes,
    ParamDesc,
    ParamDescriber,
    Training,
)


class Expon(ParamDesc):
    def __init__(self, size, tau=8.0, weight=None):
        self.size, self.tau, self.weight = size, tau, weight


class Alpha(Expon):
    pass


# -- ParamDesc / ParamDescriber -------------------------------------------------------------------
def test_desc_builds_fresh_instances_with_merged_arguments():
    d = Expon.desc(10, tau=5.0)
    a, b = d(), d.init()
    assert a is not b and (a.size, a.tau) == (10, 5.0)
    c = d(tau=1.0, weight=2)
    assert (c.size, c.tau, c.weight) == (10, 1.0, 2)
    assert Expon.desc()(3).size == 3  # call-time positional arguments follow the stored ones


W = jnp.ones(3)


@pytest.mark.parametrize(
    "a, b, same",
    [
        (Expon.desc(10, tau=5.0), Expon.desc(10, tau=5.0), True),
        (Expon.desc(10, tau=5.0), Expon.desc(10, tau=4.0), False),
        (Expon.desc(10), Alpha.desc(10), False),
        (Expon.desc(10, weight=W), Expon.desc(10, weight=W), True),  # the same array
        (Expon.desc(10, weight=jnp.ones(3)), Expon.desc(10, weight=jnp.ones(3)), False),  # equal, not the same
        (Expon.desc((1, [2, 3])), Expon.desc((1, [2, 3])), True),
        (Expon.desc({"a": [1]}), Expon.desc({"a": [1]}), True),
        (Expon.desc(np.int32(3)), Expon.desc(3), True),
    ],
)
def test_identifier_is_equal_for_equal_descriptions(a, b, same):
    assert (a.identifier == b.identifier) is same
    hash(a.identifier)  # always usable as a cache key


def test_identifier_is_read_only_and_describer_cannot_be_subclassed():
    d = Expon.desc(1)
    with pytest.raises(AttributeError):
        d.identifier = ()
    with pytest.raises(TypeError, match=r"ParamDescriber cannot be subclassed"):

        class Sub(ParamDescriber):
            pass


def test_subscript_and_isinstance_check_the_described_class():
    assert isinstance(Alpha.desc(1), ParamDescriber[Expon])
    assert not isinstance(Expon.desc(1), ParamDescriber[Alpha])
    assert not isinstance(Expon(1), ParamDescriber[Expon])
    assert repr(Expon.desc(1, tau=2.0)) == "ParamDescriber(Expon(1, tau=2.0))"
    assert repr(Expon.desc(jnp.ones((100, 3)), name="e")) == "ParamDescriber(Expon(f32[100,3], name='e'))"


# -- JointTypes / OneOfTypes ---------------------------------------------------------------------
class A:
    pass


class B:
    pass


class AB(A, B):
    pass


@pytest.mark.parametrize(
    "combo, obj, expected",
    [
        (JointTypes[A, B], AB(), True),
        (JointTypes[A, B], A(), False),
        (JointTypes(A, B), AB(), True),
        (OneOfTypes[A, B], A(), True),
        (OneOfTypes[A, B], 1, False),
        (OneOfTypes[int, str], "x", True),
        (JointTypes[OneOfTypes[A, int], B], AB(), True),
    ],
)
def test_isinstance(combo, obj, expected):
    assert isinstance(obj, combo) is expected


def test_issubclass_equality_hash_flattening_and_pickling():
    assert issubclass(AB, JointTypes[A, B]) and not issubclass(A, JointTypes[A, B])
    assert issubclass(A, OneOfTypes[A, B]) and not issubclass(int, OneOfTypes[A, B])
    assert JointTypes[A, B] == JointTypes[B, A] and hash(JointTypes[A, B]) == hash(JointTypes[B, A])
    assert JointTypes[A, B] != OneOfTypes[A, B]
    assert JointTypes[JointTypes[A, B], A] == JointTypes[A, B]
    assert JointTypes[A] is A and OneOfTypes[A, A] is A
    assert pickle.loads(pickle.dumps(JointTypes[int, float])) == JointTypes[int, float]
    assert repr(OneOfTypes[int, str]) == "OneOfTypes[builtins.int, builtins.str]"


@pytest.mark.parametrize(
    "action, message",
    [
        (lambda: JointTypes(), r"JointTypes needs at least one type"),
        (lambda: OneOfTypes[1, int], r"OneOfTypes combines classes, got 1"),
        (lambda: JointTypes[A, B](), r"JointTypes\[.*A, .*B\] is a type test .* it cannot be called"),
    ],
)
def test_type_combination_errors(action, message):
    with pytest.raises(TypeError, match=message):
        action()


# -- modes ---------------------------------------------------------------------------------------
def test_mode_has_and_is_a():
    t, b = Training(), Batching(4)
    assert t.has(Mode) and t.has(Training) and not t.has(Batching)
    assert t.is_a(Training) and not t.is_a(Mode)
    assert b.batch_size == 4 and b.batch_axis == 0
    with pytest.raises(TypeError, match=r"Mode checks take a mode class such as Training, got Training\(\)"):
        t.has(Training())


def test_modes_compare_and_hash_by_class_and_settings_so_they_can_be_static_jit_arguments():
    assert Training() == Training() and hash(Training()) == hash(Training())
    assert Batching(4) == Batching(4) and Batching(4) != Batching(8) and Batching(4) != Training()
    assert Training() != "Training"
    traces = []

    def f(x, mode):
        traces.append(mode)
        return x * mode.batch_size

    jitted = jax.jit(f, static_argnums=1)
    assert jitted(1.0, Batching(2)) == 2.0 and jitted(1.0, Batching(2)) == 2.0
    assert jitted(1.0, Batching(3)) == 3.0  # another setting is another compilation, never a stale one
    assert traces == [Batching(2), Batching(3)]


def test_joint_mode():
    mode = JointMode(Training(), Batching(batch_size=8, batch_axis=1))
    assert mode.has(Training) and mode.has(Batching) and mode.has(Mode)
    assert mode.batch_size == 8 and mode.batch_axis == 1
    assert mode.is_a(JointTypes[Training, Batching]) and not mode.is_a(Training)
    assert JointMode(Training()).is_a(Training)
    assert mode == JointMode(Training(), Batching(8, 1)) and mode != JointMode(Training())
    assert repr(mode) == "JointMode(Training(), Batching(batch_size=8, batch_axis=1))"
    with pytest.raises(AttributeError, match=r"None of the modes of JointMode\(.*\) has the attribute 'lr'"):
        _ = mode.lr
    with pytest.raises(TypeError, match=r"JointMode combines Mode instances, got 'train'"):
        JointMode("train")


# -- synapse interfaces --------------------------------------------------------------------------
def test_align_post_must_be_implemented():
    class Syn(AlignPost):
        pass

    with pytest.raises(NotImplementedError, match=r"Syn must implement align_post_input_add"):
        Syn().align_post_input_add(1.0)
    assert issubclass(AlignPost, Mixin)


def test_bind_cond_data_holds_one_conductance_per_instance():
    class Out(BindCondData):
        pass

    a, b = Out(), Out()
    assert a._conductance is None
    a.bind_cond(0.5)
    assert (a._conductance, b._conductance) == (0.5, None)
    a.unbind_cond()
    assert a._conductance is None
