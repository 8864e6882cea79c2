# ruff: noqa: E402, I001 - the snippets are kept exactly as the documentation writes them
"""The quick start of the brainstate documentation (SEED.md sections 1-5), as written there.

Run it with ``python examples/quickstart.py``; it prints the loss of the training loop.
"""

# ---- 1. States vs constants ---------------------------------------------------------------
import brainstate
import jax.numpy as jnp

# Dynamic variables are defined with State; they are tracked through transformations
state_var = brainstate.State(jnp.array([1.0, 2.0, 3.0]))
param = brainstate.ParamState(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))

# Regular Python variables are constants
learning_rate = 0.01
num_steps = 100


# ---- 2. JIT compilation with automatic state management -----------------------------------
def step_forward(x):
    y = state_var.value @ param.value
    state_var.value = state_var.value + 0.1
    return y

step_jit = brainstate.transform.jit(step_forward)
result1 = step_jit(jnp.array(1.0))
result2 = step_jit(jnp.array(1.0))  # state_var has been updated


# ---- 3. Gradients with state awareness ----------------------------------------------------
def loss_fn(x):
    pred = state_var.value @ param.value
    return jnp.sum((pred - x) ** 2)

# gradients only for ParamState, not all States
grad_fn = brainstate.transform.grad(loss_fn, grad_states=param)
target = jnp.array([1.0, 2.0])
grads = grad_fn(target)
param.value = param.value - learning_rate * grads


# ---- 4. Vectorization (vmap) with state broadcasting --------------------------------------
state_var.value = jnp.array([1.0, 2.0, 3.0])

def process_single(x):
    return jnp.sum(state_var.value * x)

process_batch = brainstate.transform.vmap(process_single, in_axes=0, out_axes=0)
batch_inputs = jnp.array([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]])
batch_results = process_batch(batch_inputs)   # state is shared/broadcast


# ---- 5. Complete training loop ------------------------------------------------------------
import brainstate
import jax.numpy as jnp

class SimpleModel(brainstate.nn.Module):
    def __init__(self, in_size, out_size):
        super().__init__()
        self.weight = brainstate.ParamState(brainstate.random.randn(in_size, out_size) * 0.01)
        self.bias = brainstate.ParamState(jnp.zeros(out_size))

    def __call__(self, x):
        return x @ self.weight.value + self.bias.value

model = SimpleModel(3, 2)

def loss_fn(x, y):
    pred = model(x)
    return jnp.mean((pred - y) ** 2)

params = model.states(brainstate.ParamState)

@brainstate.transform.jit
def train_step(x, y):
    grads = brainstate.transform.grad(loss_fn, grad_states=params)(x, y)
    for key in params.keys():
        params[key].value -= 0.01 * grads[key]
    return loss_fn(x, y)

for i in range(100):
    x_batch = brainstate.random.randn(32, 3)
    y_batch = brainstate.random.randn(32, 2)
    loss = train_step(x_batch, y_batch)
    if i % 20 == 0:
        print(f"Step {i}, Loss: {loss:.4f}")
