"""The upstream-parity State API: metadata, tags, replace, state classes, TreefyState, trace helpers."""

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate
import brainstate_core as bc

STATE_TYPES = [bc.State, bc.ShortTermState, bc.LongTermState, bc.ParamState, bc.HiddenState, bc.BatchState,
               bc.DelayState]


# -- metadata ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", STATE_TYPES)
def test_metadata_is_stored_readable_and_kept_by_copies(cls):
    s = cls(jnp.ones(2), name="a", foo=3, unit="mV")
    assert s.name == "a" and s.foo == 3 and s.unit == "mV" and s.metadata == {"foo": 3, "unit": "mV"}
    for other in (s.copy(), s.replace(jnp.zeros(2)), copy.copy(s)):
        assert type(other) is cls and other is not s
        assert other.name == "a" and other.foo == 3 and other.unit == "mV"
        assert other.metadata is not s.metadata
    r = s.replace(name="b", foo=4, bar=True)
    assert (r.name, r.foo, r.bar, r.unit) == ("b", 4, True, "mV") and s.foo == 3 and not hasattr(s, "bar")
    np.testing.assert_array_equal(r.value, s.value)


def test_replace_and_copy_are_new_states_under_a_transformation():
    s = bc.State(jnp.ones(2), name="s", unit="mV")

    @brainstate.transform.jit
    def f():
        r = s.replace(s.value * 2)
        return r.value, r.unit == "mV"

    value, same_unit = f()
    np.testing.assert_array_equal(value, 2 * jnp.ones(2))
    assert same_unit and s.value.sum() == 2.0


@pytest.mark.parametrize("key", ["copy", "numel", "replace", "register_hook", "source_info"])
def test_metadata_keys_may_not_shadow_attributes(key):
    with pytest.raises(bc.ConfigError, match=rf"the metadata key '{key}' is the name of a State attribute"):
        bc.State(0.0, **{key: 1})


def test_unknown_attribute_errors():
    with pytest.raises(AttributeError, match=r"'State' object has no attribute 'nope'"):
        _ = bc.State(0.0, foo=1).nope
    with pytest.raises(AttributeError, match=r"'ParamState' object has no attribute or metadata key 'foo'"):
        _ = bc.ParamState(0.0).foo
    with pytest.raises(bc.ConfigError, match=r"the metadata key '__len__'"):
        bc.State(0.0, __len__=1)


def test_metadata_attributes_keep_slot_access_fast():
    # A State class with __getattr__ would make every attribute access take CPython's slow path.
    assert not any("__getattr__" in vars(cls) for cls in bc.HiddenTreeState.__mro__)


def test_metadata_change_through_the_dict_is_seen_as_attribute():
    s = bc.State(0.0, unit="mV")
    s.metadata["unit"] = "V"
    assert s.unit == "V"


# -- tags --------------------------------------------------------------------------------------------
def test_add_tag_first_becomes_the_filter_tag():
    s = bc.State(0.0)
    assert s.tags == () and not s.has_tag("x")
    s.add_tag("hidden")
    s.add_tag("fast", "hidden")
    assert s.tag == "hidden" and s.tags == ("hidden", "fast") and s.has_tag("fast")
    model = {"s": s, "t": bc.State(1.0)}
    assert list(bc.graph.states(model, "hidden").values()) == [s]
    assert s.copy().tags == ("hidden", "fast")
    with pytest.raises(bc.ConfigError, match="add_tag takes strings; got int 3"):
        s.add_tag(3)


def test_tag_keyword_and_add_tag_combine():
    s = bc.State(0.0, tag="a")
    s.add_tag("b")
    assert s.tags == ("a", "b") and s.metadata == {"tag": "a", "tags": ("b",)}


# -- catch_new_states --------------------------------------------------------------------------------
def test_catch_new_states_queries_and_exclusion():
    with bc.catch_new_states(state_tag="new", state_to_exclude=bc.ParamState) as catcher:
        h = bc.HiddenState(jnp.zeros(2))
        w = bc.ParamState(jnp.ones(2))
        d = bc.DelayState(jnp.zeros(3))
    assert catcher.get_states() == [h, d] and len(catcher) == 2 and catcher[1] is d
    assert h in catcher and w not in catcher and w.tag is None
    assert catcher.get_by_tag("new") == [h, d]
    np.testing.assert_array_equal(catcher.get_state_values()[1], jnp.zeros(3))
    assert list(catcher) == [h, d]


# -- maybe_state, FakeState, DelayState ----------------------------------------------------------------
@pytest.mark.parametrize("value", [1.0, jnp.ones(2), {"a": 1}])
def test_maybe_state(value):
    assert bc.maybe_state(value) is value
    s = bc.State(value)
    assert bc.maybe_state(s) is s.value


def test_fake_state_is_not_tracked():
    fake = bc.FakeState(jnp.ones(2), name="c")
    real = bc.State(jnp.ones(2))

    def f(x):
        return x * fake.value + real.value

    jaxpr, states = brainstate.transform.make_jaxpr(f)(1.0)
    assert states == (real,) and not isinstance(fake, bc.State)
    fake.value = jnp.zeros(2)
    assert repr(fake) == "FakeState(f32[2], name='c')"


def test_delay_state_is_a_short_term_state():
    assert issubclass(bc.DelayState, bc.ShortTermState) and brainstate.DelayState is bc.DelayState


# -- hidden states --------------------------------------------------------------------------------------
def test_hidden_state_shape_helpers():
    h = bc.HiddenState(jnp.zeros((4, 3)))
    assert h.varshape == (4, 3) and h.num_state == 1


def test_hidden_group_state_get_set_and_jit():
    g = bc.HiddenGroupState(jnp.zeros((4, 3)), name="g")
    assert (g.varshape, g.num_state, g.name2index) == ((4,), 3, {"0": 0, "1": 1, "2": 2})
    g.set_value({0: jnp.ones(4), "2": jnp.full(4, 2.0)})
    np.testing.assert_array_equal(g.get_value(2), jnp.full(4, 2.0))
    g.set_value([jnp.full(4, 5.0)])
    np.testing.assert_array_equal(g.get_value("0"), jnp.full(4, 5.0))
    np.testing.assert_array_equal(g.get_value(-1), jnp.full(4, 2.0))

    @brainstate.transform.jit
    def bump(x):
        g.set_value({1: g.get_value(1) + x})

    bump(jnp.arange(4.0))
    np.testing.assert_array_equal(g.get_value(1), jnp.arange(4.0))
    assert g.copy().name2index == g.name2index


@pytest.mark.parametrize(
    "make,error,pattern",
    [
        (lambda: bc.HiddenGroupState(jnp.zeros(3)), bc.ConfigError, r"at least 2 dimensions .* got shape \(3,\)"),
        (lambda: bc.HiddenGroupState([1.0, 2.0]), bc.ConfigError, r"takes an array; got list"),
        (lambda: bc.HiddenGroupState(jnp.zeros((2, 2))).get_value(2), bc.ConfigError, r"index 2 is out of range"),
        (lambda: bc.HiddenGroupState(jnp.zeros((2, 2))).get_value("x"), bc.ConfigError, r"no hidden variable named 'x'"),
        (lambda: bc.HiddenGroupState(jnp.zeros((2, 2))).get_value(1.0), bc.ConfigError, r"int or a str; got float"),
        (lambda: bc.HiddenGroupState(jnp.zeros((2, 2))).set_value({0: jnp.ones(3)}), bc.StateShapeError,
         r"has shape \(2,\); got a value of shape \(3,\)"),
        (lambda: bc.HiddenGroupState(jnp.zeros((2, 2))).set_value({}), bc.ConfigError, r"non-empty dict"),
        (lambda: bc.HiddenTreeState({"a": jnp.zeros(2), "b": jnp.zeros(3)}), bc.StateShapeError, r"must have one shape"),
        (lambda: bc.HiddenTreeState({"a": 1.0}), bc.ConfigError, r"variable 'a' is float"),
        (lambda: bc.HiddenTreeState([]), bc.ConfigError, r"non-empty dict or sequence"),
    ],
)
def test_hidden_group_errors(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_hidden_tree_state_names_and_sequences():
    t = bc.HiddenTreeState([jnp.zeros(3), jnp.ones(3)])
    assert t.value.shape == (3, 2) and t.name2index == {"0": 0, "1": 1} and t.index2name == {0: "0", 1: "1"}
    d = bc.HiddenTreeState({"v": jnp.zeros(3), "i": jnp.ones(3)})
    d.set_value({"i": jnp.full(3, 4.0)})
    np.testing.assert_array_equal(d.get_value("i"), jnp.full(3, 4.0))
    np.testing.assert_array_equal(d.get_value(0), jnp.zeros(3))


def test_hidden_tree_state_units():
    u = pytest.importorskip("brainunit")
    t = bc.HiddenTreeState({"v": jnp.zeros(3) * u.mV, "g": jnp.ones(3) * u.siemens})
    assert t.name2unit == {"v": u.mV, "g": u.siemens} and not isinstance(t.value, u.Quantity)
    t.set_value({"v": jnp.ones(3) * u.volt})
    assert u.math.allclose(t.get_value("v"), jnp.full(3, 1000.0) * u.mV)
    with pytest.raises(bc.StateShapeError, match="has unit mV; got a unitless value"):
        t.set_value({"v": jnp.ones(3)})


# -- TreefyState -----------------------------------------------------------------------------------------
def test_treefy_state_is_a_pytree_through_jit():
    s = bc.ParamState(jnp.ones(2), name="w", unit="mV")
    ref = s.to_state_ref()
    assert ref.type is bc.ParamState and ref.name == "w" and ref.unit == "mV"
    assert ref.get_metadata() == {"name": "w", "unit": "mV"}
    assert jax.tree.leaves(ref) == [ref.value]
    out = jax.jit(lambda r: r.replace(r.value + 1))(ref)
    assert isinstance(out, bc.TreefyState) and out.unit == "mV"
    np.testing.assert_array_equal(out.value, 2 * jnp.ones(2))
    new = out.to_state()
    assert type(new) is bc.ParamState and new.name == "w" and new.unit == "mV" and new is not s
    s.update_from_ref(out)
    np.testing.assert_array_equal(s.value, 2 * jnp.ones(2))
    assert ref.copy().value is ref.value and ref.copy() is not ref


def test_treefy_state_errors():
    with pytest.raises(bc.StateArgumentError, match="describes a State class; got <class 'int'>"):
        bc.TreefyState(int, 1.0)
    ref = bc.ParamState(1.0).to_state_ref()
    with pytest.raises(bc.StateArgumentError, match=r"cannot take the value of a TreefyState of ParamState"):
        bc.HiddenState(0.0).update_from_ref(ref)


def test_update_from_ref_is_a_recorded_write():
    s = bc.State(jnp.zeros(2))
    ref = s.to_state_ref().replace(jnp.ones(2))
    with bc.StateTrace(restore=False) as trace:
        s.update_from_ref(ref)
    assert trace.write_states() == [s]


# -- StateDictManager ---------------------------------------------------------------------------------------
def test_state_dict_manager():
    w, h = bc.ParamState(jnp.ones(2)), bc.HiddenState(jnp.zeros(2))
    d = bc.StateDictManager({"w": w, "h": h})
    params, rest = d.split_values(bc.ParamState)
    np.testing.assert_array_equal(params["w"], jnp.ones(2))
    assert list(rest) == ["h"] and list(d.collect_values()) == ["w", "h"]
    d.assign_values({"w": jnp.zeros(2)}, {"h": jnp.ones(2)})
    np.testing.assert_array_equal(w.value, jnp.zeros(2))
    with pytest.raises(bc.StateShapeError, match=r"shape \(3,\) given, \(2,\) expected"):
        d.assign_values({"w": jnp.zeros(3)})
    np.testing.assert_array_equal(w.value, jnp.zeros(2))
    with pytest.raises(bc.StateArgumentError, match="holds States; the entry 'x' is float"):
        d["x"] = 1.0
    with pytest.raises(bc.StateArgumentError, match="the entry 'y' is int"):
        bc.StateDictManager(y=1)
    with pytest.raises(bc.StateArgumentError):
        d.update(z=2)


# -- StateTraceStack and the checks ---------------------------------------------------------------------------
def test_state_trace_stack_queries():
    a, b, c = bc.State(jnp.zeros(2)), bc.ParamState(jnp.ones(2)), bc.ParamState(jnp.ones(1))
    with bc.StateTraceStack(name="step") as trace:
        a.value = b.value + 1
        _ = c.value
    assert trace.been_writen == [False, True, False] and trace.states == [b, a, c]
    assert trace.get_write_states() == (a,) and trace.get_read_states() == (b, c)
    assert trace.get_write_states(replace_read=True) == (None, a, None)
    assert trace.get_read_states(replace_writen=True) == (b, None, c)
    writes, reads = trace.get_state_values(separate=True)
    assert len(writes) == 1 and len(reads) == 2
    writes, reads = trace.get_state_values(separate=True, replace=True)
    assert writes[0] is None and reads[1] is None
    assert trace.state_subset(bc.ParamState) == [b, c]
    np.testing.assert_array_equal(trace.get_write_state_values()[0], 2 * jnp.ones(2))
    np.testing.assert_array_equal(trace.original_state_values[1], jnp.zeros(2))
    trace.recovery_original_values()
    np.testing.assert_array_equal(a.value, jnp.zeros(2))
    trace.assign_state_vals([jnp.ones(2) * 5, jnp.ones(2) * 7, jnp.ones(1)])
    np.testing.assert_array_equal(a.value, jnp.ones(2) * 7)
    with pytest.raises(ValueError, match="needs 3 values, one per traced state; got 1"):
        trace.assign_state_vals([1.0])


def test_state_trace_stack_undoes_a_failed_block_and_refuses_new_arg():
    a = bc.State(jnp.zeros(2))
    with pytest.raises(RuntimeError):
        with bc.StateTraceStack():
            a.value = jnp.ones(2)
            raise RuntimeError
    np.testing.assert_array_equal(a.value, jnp.zeros(2))
    with pytest.raises(bc.TraceContextError, match=r"new_arg=...\) is not supported"):
        bc.StateTraceStack(lambda s: s)
    assert issubclass(bc.StateTraceStack, bc.StateTrace)


def test_check_state_value_tree_eagerly_and_nested():
    s = bc.State({"a": jnp.zeros(2)})
    s.value = [jnp.zeros(2)]  # no check outside the block
    with bc.check_state_value_tree():
        s.value = [jnp.ones(2)]
        with pytest.raises(bc.StateShapeError, match=r"State\(\[f32\[2\]\]\) \(created at .*\) was assigned a value "
                                                      r"whose tree structure"):
            s.value = {"a": jnp.ones(2)}
        with bc.check_state_value_tree(False):
            s.value = (jnp.ones(2),)
    assert isinstance(s.value, tuple)


def test_check_state_jax_tracer_cannot_be_disabled():
    with bc.check_state_jax_tracer():
        s = bc.State(1.0)
        with pytest.raises(bc.TraceContextError, match="outside any brainstate transformation"):
            jax.jit(lambda x: setattr(s, "value", x))(2.0)
    with pytest.raises(bc.TraceContextError, match="cannot be turned off"):
        bc.check_state_jax_tracer(False)


# -- public names ------------------------------------------------------------------------------------------------
NEW_NAMES = """DelayState FakeState GlobalHookRegistry HiddenGroupState HiddenTreeState Hook HookCancellationError
HookConfig HookContext HookError HookExecutionError HookHandle HookManager HookRegistrationError HookWarning
InitHookContext MutableWriteHookContext ReadHookContext RestoreHookContext StateDictManager StateTraceStack
TreefyState WriteHookContext check_state_jax_tracer check_state_value_tree clear_state_hooks has_state_hooks
list_state_hooks maybe_state register_state_hook unregister_state_hook""".split()


@pytest.mark.parametrize("name", NEW_NAMES)
def test_new_names_are_exported_and_documented(name):
    obj = getattr(bc, name)
    assert getattr(brainstate, name) is obj
    assert obj.__doc__
    if not (isinstance(obj, type) and issubclass(obj, Warning | bc.HookError) and obj is not bc.HookError):
        assert ">>>" in obj.__doc__


def test_metadata_survives_graph_split_merge_and_clone():
    model = {"w": bc.ParamState(jnp.ones(2), name="w", unit="mV", tag="p")}
    graphdef, values = bc.graph.treefy_split(model)
    merged = bc.graph.treefy_merge(graphdef, values)
    cloned = bc.graph.clone(model)
    for new in (merged["w"], cloned["w"]):
        assert new is not model["w"] and (new.name, new.unit, new.tag) == ("w", "mV", "p")
        new.metadata["unit"] = "V"
        assert model["w"].unit == "mV"
