"""The misuse catalogue of ``docs/errors.md``: every row is triggered here and its error checked.

Each :data:`CATALOGUE` entry has the row id used in the page's tables, the error class and a regex
the message must match (what went wrong, which object, and the fix). The page and this file must
list the same ids, and the page must name every error class the library defines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
import pytest

import brainstate
import brainstate_core
from brainstate import graph

T = brainstate.transform
nn = brainstate.nn
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"
CREATED = r"created at .*test_misuse_catalogue\.py:\d+"  # errors name where the state was made


class Misuse(NamedTuple):
    id: str
    error: type[BaseException]
    pattern: str
    trigger: Callable[[], object]


def _vec() -> brainstate.State:
    return brainstate.State(jnp.zeros(3))


def _write(state: brainstate.State) -> Callable:
    def f(x):
        state.value = state.value + x
        return x

    return f


def _return_state():
    state = _vec()
    return T.jit(lambda: state)()


def _declared_state_of_wrong_size():
    h = brainstate.HiddenState(jnp.zeros((4, 3)))
    return T.vmap(lambda x: h.value + x, in_states=h)(jnp.ones((2, 3)))


def _escape():
    box: list = []
    T.jit(lambda x: box.append(brainstate.State(x * 2)) or x)(1.0)
    return box[0].value


def _raw_cond_in_jit():
    s = _vec()
    return T.jit(lambda x: jax.lax.cond(x > 0, _write(s), lambda v: v, x))(1.0)


def _while_condition_writes():
    s = _vec()

    def cond(c):
        s.value = s.value + 1
        return c < 3

    return T.while_loop(cond, lambda c: c + 1, 0)


def _loop_changes_shape():
    s = _vec()

    def body(i):
        s.value = jnp.zeros(4)

    return T.for_loop(body, jnp.arange(2))


def _loop_changes_dtype():
    count = brainstate.State(jnp.asarray(0))

    def body(i):
        count.value = count.value + 0.5

    return T.for_loop(body, jnp.arange(2))


def _branch_changes_shape():
    s = _vec()

    def branch():
        s.value = jnp.zeros((2, 3))

    return T.cond(True, branch, lambda: None)


def _checkpoint(tmp: Path, saved: dict, target: dict):
    nn.save_checkpoint(tmp / "model.msgpack", saved)
    return nn.load_checkpoint(tmp / "model.msgpack", target)


def _not_a_checkpoint(tmp: Path):
    (tmp / "junk.msgpack").write_bytes(b"not msgpack")
    return nn.load_checkpoint(tmp / "junk.msgpack", {"a": _vec()})


def _orbax_folder_as_msgpack(tmp: Path):
    pytest.importorskip("orbax.checkpoint")
    nn.save_checkpoint(tmp / "ckpt", {"a": _vec()}, backend="orbax")
    return nn.load_checkpoint(tmp / "ckpt", {"a": _vec()}, backend="msgpack")


def _optimizer_with_wrong_grads():
    model = nn.Linear(2, 2)
    opt = nn.optim.OptaxOptimizer(optax.sgd(0.1), model.states(brainstate.ParamState))
    return opt.update({("nope",): jnp.zeros(2)})


# Triggers that need a temporary folder take it as their argument (see the test below).
CATALOGUE: list[Misuse] = [
    # -- StateArgumentError: a State where a value belongs ------------------------------------------
    Misuse("state-in-state", brainstate.StateArgumentError, r"cannot hold another State.*Pass `other.value`",
           lambda: brainstate.State(_vec())),
    Misuse("assign-state", brainstate.StateArgumentError, rf"Cannot assign the State .*{CREATED}.*Assign `other.value`",
           lambda: setattr(_vec(), "value", _vec())),
    Misuse("state-arg-to-jit", brainstate.StateArgumentError, rf"State\(f32\[3\]\) \({CREATED}\) was used where an array "
           r"was expected.*Fix: use `state.value`", lambda: T.jit(lambda s: s.value)(_vec())),
    Misuse("state-returned-from-jit", brainstate.StateArgumentError, rf"{CREATED}.*passed to or returned from",
           _return_state),
    Misuse("state-arg-to-raw-jax", brainstate.StateArgumentError, rf"{CREATED}.*JAX cannot track a State",
           lambda: jax.jit(lambda s: s)(_vec())),
    Misuse("state-in-jnp", brainstate.StateArgumentError, rf"{CREATED}.*used in arithmetic",
           lambda: jnp.sum(_vec())),
    # -- TraceContextError: tracers where they do not belong ------------------------------------------
    Misuse("tracer-in-raw-jit", brainstate.TraceContextError, rf"tracer was written into State \({CREATED}\) outside "
           r"any brainstate transformation.*Fix: use brainstate.transform.jit", lambda: jax.jit(_write(_vec()))(1.0)),
    Misuse("state-made-in-raw-jit", brainstate.TraceContextError, r"tracer was written into State.*outside any brainstate"
           r".*that the state was not created in", lambda: jax.jit(lambda x: jax.vmap(_write(brainstate.State(x)))(
               jnp.ones(2)))(0.0)),
    Misuse("escaped-state", brainstate.TraceContextError, rf"{CREATED} was created inside a brainstate transformation "
           r"and still holds a tracer.*Fix: create the state outside", _escape),
    Misuse("raw-jax-inside-brainstate", brainstate.TraceContextError, rf"{CREATED}\) was assigned a JAX tracer inside "
           r"a raw JAX transformation.*Fix: use the brainstate.transform version of the inner", _raw_cond_in_jit),
    Misuse("brainstate-inside-raw-jax", brainstate.TraceContextError, rf"called inside a raw JAX transformation.*"
           rf"{CREATED}.*Fix: use the brainstate.transform version of the outer", lambda: jax.jit(T.jit(_write(_vec())))(1.0)),
    # -- BatchAxisError: vmap and batch axes -----------------------------------------------------------
    Misuse("undeclared-batched-write", brainstate.BatchAxisError, rf"{CREATED}\) was written with a value that differs "
           r"per vmap lane \(axis size 2\).*Fix: declare it with `out_states=`",
           lambda: T.vmap(_write(_vec()))(jnp.ones((2, 3)))),
    Misuse("vmap-sizes-differ", brainstate.BatchAxisError, r"inconsistent sizes \[2, 3\]",
           lambda: T.vmap(lambda a, b: a + b)(jnp.ones(2), jnp.ones(3))),
    Misuse("vmap-state-size", brainstate.BatchAxisError, rf"HiddenState\(f32\[4,3\]\) \({CREATED}\) is declared batched on "
           r"axis 0, but its value has shape \(4, 3\) where the arguments need size 2.*Fix: give the state one entry",
           lambda: _declared_state_of_wrong_size()),
    # -- ShardingError: a layout declaration that cannot be honoured ------------------------------------
    Misuse("sharding-unknown-axis", brainstate.ShardingError, rf"ParamState\(f32\[4,2\]\) \({CREATED}\) is declared with "
           r"sharding axis 'embed', which is not a mesh axis.*Fix: map it with brainstate.sharding.axis_rules",
           lambda: brainstate.sharding.place(brainstate.ParamState(jnp.zeros((4, 2)), sharding=("embed", None)),
                                             mesh=jax.make_mesh((1,), ("data",)))),
    Misuse("sharding-rank", brainstate.ShardingError, r"is declared sharding=\('data', None, None\) \(3 axes\) but its "
           r"value has shape \(4, 2\) \(2 axes\)\. Fix: give one entry per leading axis at most",
           lambda: brainstate.sharding.partition_spec(brainstate.State(jnp.zeros((4, 2)), sharding=("data", None, None)))),
    Misuse("shard-map-no-mesh", brainstate.ShardingError, r"shard_map\(<lambda>.*no mesh\. Fix: pass mesh=\.\.\., or call "
           r"inside `with brainstate.sharding.use_mesh\(mesh\):`",
           lambda: T.shard_map(lambda x: x)(jnp.ones(2))),
    # -- StateShapeError: a value of the wrong structure, shape or dtype -------------------------------
    Misuse("loop-state-shape", brainstate.StateShapeError, rf"{CREATED}\) entered the for_loop body as f32\[3\] and left it "
           r"as f32\[4\].*Fix: write a value of the same shape and dtype", _loop_changes_shape),
    Misuse("loop-state-dtype", brainstate.StateShapeError, r"entered the for_loop body as i32\[\] and left it as f32\[\]",
           _loop_changes_dtype),
    Misuse("branch-state-shape", brainstate.StateShapeError, r"entered a cond/switch branch as f32\[3\] and left it as "
           r"f32\[2,3\]", _branch_changes_shape),
    Misuse("checkpoint-paths", brainstate.StateShapeError, rf"nothing was restored.*\('b',\): State\(f32\[3\]\) \({CREATED}\) "
           r"is not in the checkpoint.*\('a',\): saved in the checkpoint.*strict=False",
           lambda tmp: _checkpoint(tmp, {"a": _vec()}, {"b": _vec()})),
    Misuse("checkpoint-shape", brainstate.StateShapeError, rf"\('a',\): State {CREATED}: shape \(3,\) saved, \(4,\) expected",
           lambda tmp: _checkpoint(tmp, {"a": _vec()}, {"a": brainstate.State(jnp.zeros(4))})),
    Misuse("not-a-checkpoint", brainstate.StateShapeError, r"junk.msgpack is not a brainstate checkpoint", _not_a_checkpoint),
    Misuse("checkpoint-backend", brainstate.StateShapeError, r"ckpt is a folder, not a msgpack checkpoint\. Fix: load it "
           r"with backend='orbax' or backend='auto'", _orbax_folder_as_msgpack),
    Misuse("checkpoint-missing", nn.CheckpointNotFoundError, r"There is no checkpoint at .*model\.msgpack \(no such file "
           r"or folder.*Fix: pass the path given to brainstate\.nn\.save_checkpoint",
           lambda tmp: nn.load_checkpoint(tmp / "model.msgpack", {"a": _vec()})),
    Misuse("assign-unknown-path", brainstate.StateShapeError, r"nothing was assigned.*\('b',\): unknown path",
           lambda: graph.states({"a": _vec()}).assign_values({("b",): jnp.zeros(3)})),
    Misuse("assign-wrong-shape", brainstate.StateShapeError, rf"{CREATED}: shape \(4,\) given, \(3,\) expected",
           lambda: graph.states({"a": _vec()}).assign_values({("a",): jnp.zeros(4)})),
    Misuse("merge-missing-values", brainstate.StateShapeError, r"Cannot merge values into GraphDef.*missing, no value was given",
           lambda: graph.treefy_merge(graph.treefy_split({"a": _vec()})[0], {})),
    Misuse("optimizer-grads", brainstate.StateShapeError, r"gradients that do not match its weights.*\('nope',\): not a "
           r"registered weight.*grad_states=optimizer.param_states", _optimizer_with_wrong_grads),
    # -- StateUsageError: a State used in a way a transformation cannot honour -------------------------
    Misuse("grad-state-unused", brainstate.StateUsageError, rf"never used by the differentiated function.*<root>: "
           rf"ParamState\(f32\[3\]\) {CREATED}.*check_states=False",
           lambda: T.grad(jnp.sum, grad_states=brainstate.ParamState(jnp.ones(3)))(jnp.ones(3))),
    Misuse("grad-states-not-states", brainstate.StateUsageError, r"grad_states must hold only State objects, but found "
           r"ArrayImpl at \[0\]", lambda: T.grad(jnp.sum, grad_states=[jnp.ones(3)])),
    Misuse("grad-states-twice", brainstate.StateUsageError, r"the same State more than once",
           lambda: T.grad(jnp.sum, grad_states=[w := brainstate.ParamState(jnp.ones(3)), w])),
    Misuse("has-aux-not-pair", brainstate.StateUsageError, r"has_aux=True the function `sum` must return a pair \(value, aux\); it returned f32\[\]\. Fix: return `value, aux`",
           lambda: T.grad(jnp.sum, has_aux=True)(jnp.ones(3))),
    Misuse("hessian-both", brainstate.StateUsageError, r"hessian takes grad_states or argnums, not both.*jacfwd\(jacrev",
           lambda: T.hessian(jnp.sum, grad_states=brainstate.ParamState(jnp.ones(3)), argnums=0)),
    Misuse("while-condition-writes", brainstate.StateUsageError, rf"while_loop condition wrote State\(f32\[3\]\) \({CREATED}\)"
           r".*Fix: move the write into the body", _while_condition_writes),
    Misuse("scan-not-pair", brainstate.StateUsageError, r"scan body `<lambda>.<locals>.<lambda>` must return a pair \(carry, y\); it returned f32\[\]\. Fix: return `carry, y`",
           lambda: T.scan(lambda c, x: c, 0.0, jnp.ones(3))),
    Misuse("for-loop-nothing", brainstate.StateUsageError, r"for_loop needs at least one sequence.*`length=`",
           lambda: T.for_loop(lambda: None)),
    Misuse("switch-no-branch", brainstate.StateUsageError, r"switch needs at least one branch", lambda: T.switch(0, [])),
    Misuse("ifelse-branches", brainstate.StateUsageError, r"ifelse got 1 conditions and 3 branches",
           lambda: T.ifelse([True], [lambda: 1, lambda: 2, lambda: 3])),
    Misuse("vmap-nothing-mapped", brainstate.StateUsageError, r"vmap needs at least one mapped argument.*`axis_size=`",
           lambda: T.vmap(lambda: 1.0)()),
    Misuse("restore-key-first", brainstate.StateUsageError, rf"RandomState\(key=\[0, 0\]\) \({CREATED}\): restore_key\(\) "
           r"was called without a matching backup_key\(\)", lambda: brainstate.random.RandomState(0).restore_key()),
    Misuse("rnn-not-initialised", brainstate.StateUsageError, r"GRUCell has no hidden state yet.*init_all_states",
           lambda: nn.GRUCell(3, 2)(jnp.ones(3))),
    Misuse("optimizer-no-weights", brainstate.StateUsageError, r"OptaxOptimizer has no weights to train.*"
           r"register_trainable_weights", lambda: nn.optim.OptaxOptimizer(optax.sgd(0.1)).update({})),
    Misuse("optimizer-not-states", brainstate.StateUsageError, r"trainable weights must be States.*\['w'\]",
           lambda: nn.optim.OptaxOptimizer(optax.sgd(0.1), {"w": jnp.ones(2)})),
    # -- FilterError ------------------------------------------------------------------------------
    Misuse("bad-filter", brainstate.FilterError, r"Cannot use 3.5 \(of type float\) as a filter. A filter is a class",
           lambda: graph.states({"a": _vec()}, 3.5)),
    Misuse("ellipsis-not-last", brainstate.FilterError, r"`Ellipsis` is filter 1 of 2.*Fix: put `...` last",
           lambda: graph.states({"a": _vec()}, ..., brainstate.ParamState)),
    Misuse("oftype-not-class", brainstate.FilterError, r"OfType needs a class, got 3", lambda: graph.OfType(3)),
    # -- RandomParameterError -----------------------------------------------------------------------
    Misuse("random-negative-scale", brainstate.RandomParameterError, r"normal\(\): `scale` must be >= 0, got -1.0. "
           r"Fix: pass scale >= 0", lambda: brainstate.random.normal(0.0, -1.0)),
    Misuse("random-probability", brainstate.RandomParameterError, r"bernoulli\(\): `p` must be in \[0, 1\], got 1.5",
           lambda: brainstate.random.bernoulli(1.5)),
    Misuse("random-low-high", brainstate.RandomParameterError, r"uniform\(\): low <= high; got low=2.0, high=1.0",
           lambda: brainstate.random.uniform(2.0, 1.0)),
    Misuse("random-seed", brainstate.RandomParameterError, r"a seed must fit in a 64-bit signed integer "
           r"\(-2\*\*63 <= seed < 2\*\*63\), got 18446744073709551616", lambda: brainstate.random.RandomState(2**64)),
    Misuse("random-traced-size", brainstate.RandomParameterError, r"normal\(\): the size must be static.*static_argnums",
           lambda: T.jit(lambda n: brainstate.random.normal(size=n))(3)),
    Misuse("random-bad-key", brainstate.RandomParameterError, r"expected one PRNG key.*got an array of dtype float32 "
           r"and shape \(3,\)", lambda: brainstate.random.normal(key=jnp.ones(3))),
    Misuse("random-split-count", brainstate.RandomParameterError, r"split_key\(\): n must be a positive int, got 0",
           lambda: brainstate.random.RandomState(0).split_key(0)),
    # -- ConfigError / InputError: bad layer arguments and inputs ---------------------------------------
    Misuse("layer-config", brainstate.ConfigError, r"Linear in_size must be a positive int .* got 0. Fix: pass sizes >= 1",
           lambda: nn.Linear(0, 3)),
    Misuse("groups-divide", brainstate.ConfigError, r"GroupNorm num_groups=3 does not divide the 8 channels. Fix: pass a "
           r"positive num_groups", lambda: nn.GroupNorm(8, num_groups=3)),
    Misuse("dropout-prob", brainstate.ConfigError, r"Dropout prob is the probability to keep an element and must be in "
           r"\(0, 1\], got 0.0. Fix: pass 1 - \(drop rate\)", lambda: nn.Dropout(0.0)),
    Misuse("unknown-activation", brainstate.ConfigError, r"Unknown activation 'nope'. Fix: pass a callable or one of "
           r"\['relu'", lambda: nn.GRUCell(3, 2, activation="nope")),
    Misuse("progress-freq", brainstate.ConfigError, r"ProgressBar freq must be a positive integer, got 0. Fix: pass freq >= 1",
           lambda: T.ProgressBar(freq=0)),
    Misuse("layer-input", brainstate.InputError, r"Linear\(3 -> 2\) got an input of shape \(4,\): its last axis must "
           r"have 3 features. Fix: pass inputs of shape \(..., 3\)", lambda: nn.Linear(3, 2)(jnp.ones(4))),
    Misuse("conv-layout", brainstate.InputError, r"Conv2d expects inputs \(batch, \*2 spatial, 3 channels\).*got shape "
           r"\(2, 8, 8\). Fix: pass inputs of that layout", lambda: nn.Conv2d((8, 8, 3), 4, 3)(jnp.ones((2, 8, 8)))),
    Misuse("embedding-ids", brainstate.InputError, r"Embedding\(num_embeddings=5, embedding_size=3\) expects integer ids, "
           r"got dtype float32. Fix: cast with .astype\(int\)", lambda: nn.Embedding(5, 3)(jnp.ones(2))),
    # -- EnvironKeyError / EnvironValueError -----------------------------------------------------------------
    Misuse("missing-dt", brainstate.EnvironKeyError, r"'dt' \(the numerical integration time step\) is not set.*"
           r"environ.context\(dt=...\)", brainstate.environ.get_dt),
    Misuse("missing-key", brainstate.EnvironKeyError, r"'my_key' is not set.*environ.set\(my_key=...\)",
           lambda: brainstate.environ.get("my_key")),
    Misuse("bad-precision", brainstate.EnvironValueError, r"precision=128 is not supported. Use one of 64, 32, 16, 8 or "
           r"'bf16'", lambda: brainstate.environ.set(precision=128)),
    Misuse("pop-precision", brainstate.EnvironValueError, r"'precision' cannot be removed",
           lambda: brainstate.environ.pop("precision")),
    # -- JitErrorIf ----------------------------------------------------------------------------------------
    Misuse("check-failed", brainstate.JitErrorIf, r"^x must be positive, got -1$",
           lambda: T.jit_error_if(jnp.array(True), "x must be positive, got {}", -1)),
    Misuse("check-failed-compiled", jax.errors.JaxRuntimeError, r"x must be positive, got -1.0",
           lambda: T.jit(lambda x: T.jit_error_if(x < 0, "x must be positive, got {}", x) or x)(-1.0)),
]


@pytest.mark.parametrize("misuse", CATALOGUE, ids=[m.id for m in CATALOGUE])
def test_misuse(misuse: Misuse, tmp_path: Path) -> None:
    takes_folder = misuse.trigger.__code__.co_argcount == 1
    with pytest.raises(misuse.error, match=re.compile(misuse.pattern, re.S)) as info:
        misuse.trigger(tmp_path) if takes_folder else misuse.trigger()
    if misuse.error is not jax.errors.JaxRuntimeError:
        assert isinstance(info.value, brainstate.BrainStateError)


# -- the page ----------------------------------------------------------------------------------------------
def _doc() -> str:
    return DOC.read_text()


def _doc_ids() -> list[str]:
    return re.findall(r"^\| `([a-z0-9-]+)` \|", _doc(), flags=re.M)


def test_page_and_tests_list_the_same_rows() -> None:
    ids = _doc_ids()
    assert len(ids) == len(set(ids)), "a row id appears twice in docs/errors.md"
    assert sorted(ids) == sorted(m.id for m in CATALOGUE)


def test_page_rows_name_the_error_the_test_checks() -> None:
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z0-9-]+)` \|.*?\| `(\w+)` \|", _doc(), flags=re.M)}
    assert rows == {m.id: m.error.__name__ for m in CATALOGUE}



def _defined_error_classes() -> set[str]:
    """Every exception class defined in the packages' sources (by a ``class X(...)`` line)."""
    found = set()
    for source in ROOT.glob("packages/*/src/**/*.py"):
        for name, bases in re.findall(r"^class (\w+)\(([^)]*)\)", source.read_text(), flags=re.M):
            if re.search(r"Error|Exception|BaseException|Warning|JitErrorIf", bases):
                found.add(name)
    return found


def _subclasses(cls: type) -> set[type]:
    return {cls} | {s for sub in cls.__subclasses__() for s in _subclasses(sub)}


def test_page_names_every_error_class() -> None:
    ours = ("brainstate",)  # classes defined by tests in the same process do not count
    library = {c.__name__ for c in _subclasses(brainstate.BrainStateError) if c.__module__.startswith(ours)}
    classes = library | _defined_error_classes()
    exported = {name for name in brainstate_core._errors.__all__}
    assert exported <= classes
    missing = sorted(name for name in classes if f"`{name}`" not in _doc())
    assert not missing, f"docs/errors.md does not name {missing}"
