"""Scenario: one training step of the digits SNN (examples/snn_digits.py), brainstate vs plain JAX.

The network and loss of ``examples/snn_digits.py`` (rate coding): 64 input spike trains ->
dropout (keep 0.8, while training) -> ``Linear(64, H)`` -> ``LIF(H)`` (tau 5 ms, V_th 1, soft
reset, sigmoid surrogate with alpha 4) -> ``LeakyRateReadout(H, 10)`` (tau 20 ms), ``T`` steps of
1 ms; the loss is ``ce_mean_membrane_loss`` plus ``firing_rate_penalty(low=0.01, high=0.3)``;
Adam with a cosine-decay schedule. One call is one optimisation step on a batch of encoded spike
trains ``(T, batch, 64)`` (encoded once, outside: the encoder is not part of the measured step).

* brainstate (make_train_step): ``nn.make_train_step(model, loss_fn, Adam, mode='bptt')``;
* brainstate (example step): the example's own step, ``transform.grad`` and ``optimizer.update``
  inside ``transform.jit``, the loop ``transform.for_loop``;
* plain jax: the same equations by hand, ``lax.scan`` over ``(V, r, key)`` inside
  ``jax.value_and_grad``, then ``optax.adam(schedule)``, all in one ``jax.jit``.

All three start from the same weights and dropout key, draw the same dropout masks (the plain
version splits the key as ``brainstate.random`` does) and carry their weights, optimiser state and
key from call to call; ``tests/test_bench_snn_step.py`` checks that they compute the same loss,
gradients and update. Rounds are interleaved. Target: brainstate / plain jax <= 1.1 (time per step).

    python benchmarks/bench_snn_step.py [--quick] [--hidden 256] [--batch 64] [--steps 25]
"""

from __future__ import annotations

import math

import _common as C
import jax
import jax.numpy as jnp
import numpy as np
import optax

import brainstate

nn = brainstate.nn
DT, TAU, TAU_OUT, V_TH, ALPHA, KEEP = 1.0, 5.0, 20.0, 1.0, 4.0, 0.8
LOW, HIGH, RATE_WEIGHT, LR, N_IN, N_OUT = 0.01, 0.3, 1.0, 2e-3, 64, 10


def schedule(total: int = 1000):
    """The example's learning-rate schedule."""
    return optax.cosine_decay_schedule(LR, total, alpha=0.05)


# -- brainstate ------------------------------------------------------------------------------------
class SNN(nn.Module):
    """The network of examples/snn_digits.py (rate coding: input gain 1)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(KEEP)
        self.fc = nn.Linear(N_IN, hidden)
        self.lif = nn.LIF(hidden, tau=TAU, V_th=V_TH, spk_fun=brainstate.surrogate.Sigmoid(alpha=ALPHA))
        self.readout = nn.LeakyRateReadout(hidden, N_OUT, tau=TAU_OUT)

    def update(self, x_t):
        spikes = self.lif(self.fc(self.dropout(x_t)))
        return self.readout(spikes), spikes


def loss_fn(outputs, labels):
    """The example's loss on the stacked outputs (read-out, hidden spikes), time first."""
    out, spikes = outputs
    return nn.ce_mean_membrane_loss(out, labels) + RATE_WEIGHT * nn.firing_rate_penalty(spikes, low=LOW, high=HIGH)


def ours(hidden: int, batch: int, seed: int = 0):
    """``(model, optimizer, make_train_step's step, the example's step)``, built under ``dt``."""
    brainstate.random.seed(seed)
    model = nn.init_all_states(SNN(hidden), batch_size=batch)  # as the example, before its jitted step
    optimizer = nn.optim.Adam(schedule(), params=model.states(brainstate.ParamState))
    train_step = nn.make_train_step(model, loss_fn, optimizer, mode="bptt")
    params = optimizer.param_states

    def example_loss(xs, labels):
        nn.reset_all_states(model, batch_size=xs.shape[1])
        return loss_fn(brainstate.transform.for_loop(model, xs), labels)

    @brainstate.transform.jit
    def example_step(xs, labels):
        grads, loss = brainstate.transform.grad(example_loss, grad_states=params, return_value=True)(xs, labels)
        optimizer.update(grads)
        return loss

    return model, optimizer, train_step, example_step


# -- plain JAX -------------------------------------------------------------------------------------
@jax.custom_jvp
def spike(x):
    """Heaviside forward, the sigmoid surrogate ``alpha s (1 - s)`` backward."""
    return (x >= 0).astype(x.dtype)


@spike.defjvp
def _spike_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    s = jax.nn.sigmoid(ALPHA * x)
    return spike(x), ALPHA * s * (1.0 - s) * dx


def plain_loss(params, key, xs, labels):
    """``(loss, key after the dropout draws)`` of the SNN over ``xs`` ``(T, batch, 64)``, from rest."""
    hidden = params["w"].shape[1]
    decay_v, decay_r = math.exp(-DT / TAU), math.exp(-DT / TAU_OUT)

    def body(carry, x):
        v, r, key = carry
        keys = jax.random.split(key)
        x = jnp.where(jax.random.bernoulli(keys[1], KEEP, x.shape), x / KEEP, 0.0)
        current = x @ params["w"] + params["b"]
        v = v - V_TH * spike(v - V_TH)                   # soft reset by the previous step's spike
        v = decay_v * v + (1.0 - decay_v) * current      # exact step of tau dV/dt = -V + I
        z = spike(v - V_TH)
        r = decay_r * r + z @ params["w_out"]
        return (v, r, keys[0]), (r, z)

    batch, dtype = xs.shape[1], params["w"].dtype
    start = (jnp.zeros((batch, hidden), dtype), jnp.zeros((batch, N_OUT), dtype), key)
    (_, _, key), (out, z) = jax.lax.scan(body, start, xs)
    log_p = jax.nn.log_softmax(out.mean(axis=0), axis=-1)
    task = -jnp.take_along_axis(log_p, labels[:, None], axis=-1).mean()
    rate = z.reshape(-1, hidden).mean(axis=0)
    penalty = jnp.mean(jax.nn.relu(LOW - rate) ** 2 + jax.nn.relu(rate - HIGH) ** 2)
    return task + RATE_WEIGHT * penalty, key


def plain(params):
    """``(step, initial optimiser state)``: ``step(params, opt_state, key, xs, labels)`` -> the same plus the loss."""
    tx = optax.adam(schedule())

    @jax.jit
    def step(params, opt_state, key, xs, labels):
        (loss, key), grads = jax.value_and_grad(plain_loss, has_aux=True)(params, key, xs, labels)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, key, loss

    return step, tx.init(params)


def plain_params(model: SNN) -> dict:
    """The brainstate model's weights, for the plain version."""
    fc = model.fc.weight.value
    return {"w": fc["weight"], "b": fc["bias"], "w_out": model.readout.weight.value}


def data(batch: int, steps: int, seed: int = 0) -> tuple[jax.Array, jax.Array]:
    """Rate-coded random 'images': Bernoulli spike trains ``(T, batch, 64)`` and labels ``(batch,)``."""
    rng = np.random.default_rng(seed)
    intensity = rng.uniform(0.0, 1.0, (batch, N_IN))
    xs = (rng.uniform(size=(steps, batch, N_IN)) < intensity).astype(np.float32)
    return jnp.asarray(xs), jnp.asarray(rng.integers(0, N_OUT, batch, dtype=np.int32))


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=None, help="LIF neurons (default 256, as the example)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 64)")
    p.add_argument("--steps", type=int, default=None, help="time steps T (default 25)")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 40)
    hidden = args.hidden or (32 if args.quick else 256)
    batch = args.batch or (8 if args.quick else 64)
    steps = args.steps or (5 if args.quick else 25)
    brainstate.environ.set(dt=DT, fit=True)

    xs, labels = data(batch, steps)
    model, _, train_step, example_step = ours(hidden, batch)
    step, opt_state = plain(plain_params(model))
    box = {"s": (plain_params(model), opt_state, brainstate.random.DEFAULT.value)}
    first_plain = float(step(*box["s"], xs, labels)[3])
    first_ours = float(train_step.gradients(xs, labels)[1])

    def run_plain():
        params, opt_state, key, loss = step(*box["s"], xs, labels)
        box["s"] = (params, opt_state, key)
        C.block(loss)

    variants = [
        C.Variant("plain jax", run_plain, baseline=True, note="lax.scan + jax.value_and_grad + optax.adam, jax.jit"),
        C.Variant("brainstate (make_train_step)", lambda: C.block(train_step(xs, labels)),
                  note="nn.make_train_step(mode='bptt')"),
        C.Variant("brainstate (example step)", lambda: C.block(example_step(xs, labels)),
                  note="transform.grad + optimizer.update in transform.jit"),
    ]
    samples = C.measure(variants, args.repeats, warmup=2)
    sec = C.section(f"digits SNN training step: 64 -> {hidden} LIF -> 10, T = {steps}, batch {batch}: time per step",
                    variants, samples, notes=[f"first loss: plain {first_plain:.6f}, brainstate {first_ours:.6f}"])
    targets = [C.Target("make_train_step / plain jax time per training step",
                        sec.row("brainstate (make_train_step)").ratio, 1.1),
               C.Target("example step / plain jax time per training step",
                        sec.row("brainstate (example step)").ratio, 1.1)]
    config = {"hidden": hidden, "batch": batch, "steps": steps, "repeats": args.repeats, "dt": DT,
              "first_loss_plain": first_plain, "first_loss_brainstate": first_ours}
    C.finish(C.report("snn_step", [sec], targets, args, config), args)


if __name__ == "__main__":
    main()
