"""Visible tests for Neuron, Layer and MLP. Run them as often as you like.

The grader seeds Python's `random` module before every test, so MLP(...) draws the same initial
weights in your code and in the reference, as long as each Neuron draws its weights with
random.uniform(-1, 1), one per input, in order (and the bias starts at 0 without a draw).
"""

import math
import random

from micrograd.nn import MLP, Layer, Neuron


def test_parameter_count(check):
    check("len(Neuron(5).parameters())", len(Neuron(5).parameters()),
          msg="a neuron with 5 inputs has 5 weights and 1 bias")
    check("len(Layer(3, 4).parameters())", len(Layer(3, 4).parameters()),
          msg="a layer of 4 neurons with 3 inputs each has 4 * (3 + 1) parameters: collect every neuron's parameters in one flat list")
    check("len(MLP(3, [4, 4, 1]).parameters())", len(MLP(3, [4, 4, 1]).parameters()),
          msg="MLP(3, [4, 4, 1]) has layers 3->4, 4->4, 4->1: (3+1)*4 + (4+1)*4 + (4+1)*1 = 41 parameters")
    check("len(MLP(2, [16, 16, 1]).parameters())", len(MLP(2, [16, 16, 1]).parameters()),
          msg="MLP(2, [16, 16, 1]) has 337 parameters (as in micrograd's demo): every weight AND every bias, in one flat list")


def test_forward(check):
    model = MLP(3, [4, 4, 1])
    inputs = [[1.0, -2.0, 0.5], [0.3, 0.8, -1.5], [-1.0, -0.5, 2.0], [2.0, 1.0, 1.0], [-0.7, 0.2, -0.1]]
    outputs = [model(x) for x in inputs]
    check("types of the outputs of MLP(3, [4, 4, 1])", [type(o).__name__ for o in outputs], exact=True,
          msg="a Layer with one neuron must return that neuron's Value itself, not a list of one Value")
    check("outputs of MLP(3, [4, 4, 1]) under the seeded init", [o.data for o in outputs], tol=1e-9,
          msg="outputs differ: weights must be random.uniform(-1, 1), one per input, drawn neuron by neuron and layer by layer; bias 0; relu on hidden layers; the LAST layer is linear (no relu)")

    layer = Layer(3, 2)
    out = layer([1.0, 2.0, -1.0])
    check("types in Layer(3, 2)(x)", [type(v).__name__ for v in out] if isinstance(out, list) else type(out).__name__,
          exact=True, msg="a Layer with several neurons returns a list with one Value per neuron")


def test_zero_grad(check):
    model = MLP(2, [3, 1])
    x = [0.5, -1.5]
    loss = (model(x) - 1.0) ** 2
    loss.backward()
    first = [p.grad for p in model.parameters()]
    check("gradients after one backward()", first, tol=1e-9,
          msg="gradients of (model(x) - 1)**2 differ: check that the bias is added in each neuron and the last layer is linear")
    model.zero_grad()
    check("gradients after zero_grad()", [p.grad for p in model.parameters()],
          msg="zero_grad() must set every parameter's .grad to 0 (all weights and all biases)")
    loss = (model(x) - 1.0) ** 2
    loss.backward()
    check("gradients after zero_grad() and a fresh backward()", [p.grad for p in model.parameters()], tol=1e-9,
          msg="after zero_grad() a new backward() must give the same gradients again, not twice as much")


# --- training on two moons -----------------------------------------------------------------------
def make_moons(n, noise, rng):
    """Two interleaving half circles, centred on the origin; labels -1 and +1."""
    xs, ys = [], []
    half = n // 2
    for i in range(half):
        t = math.pi * i / (half - 1)
        xs.append([math.cos(t) - 0.5 + rng.gauss(0, noise), math.sin(t) - 0.25 + rng.gauss(0, noise)])
        ys.append(-1)
    for i in range(n - half):
        t = math.pi * i / (n - half - 1)
        xs.append([0.5 - math.cos(t) + rng.gauss(0, noise), 0.25 - math.sin(t) + rng.gauss(0, noise)])
        ys.append(1)
    return xs, ys


def test_training(check):
    model = MLP(2, [8, 8, 1])                      # seeded init: the same weights as the reference
    xs, ys = make_moons(30, 0.05, random.Random(7))
    steps, alpha = 70, 1e-4
    history = []
    for k in range(steps):
        scores = [model(x) for x in xs]
        losses = [(1 - y * s).relu() for y, s in zip(ys, scores)]      # hinge loss, as in micrograd's demo
        data_loss = sum(losses) / len(losses)
        reg_loss = alpha * sum(p * p for p in model.parameters())      # L2 regularisation
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps                                     # learning rate decays from 1.0 to 0.1
        for p in model.parameters():
            p.data -= lr * p.grad
        history.append(loss.data)
        check.metric("loss", k, loss.data)
        check.progress((k + 1) / steps, f"step {k + 1}/{steps}")
    scores = [model(x) for x in xs]
    accuracy = sum((y > 0) == (s.data > 0) for y, s in zip(ys, scores)) / len(ys)
    print(f"final loss {loss.data:.4f}, accuracy {accuracy:.0%}")
    check.at_least("accuracy", accuracy, 1.0,
                   msg="training did not separate the two moons: check parameters() (every weight and bias), zero_grad(), relu on hidden layers and a linear last layer")
    # Same seeded weights, same data, same steps: the loss curve itself must be the reference's.
    check("loss at steps 0, 10, ..., 60 and 69", history[::10] + history[-1:], tol=1e-6, rtol=1e-4,
          msg="your loss curve differs from the reference's, which starts from the same seeded weights: "
              "check parameters() (every weight and bias), zero_grad(), relu on hidden layers and a linear last layer")
