import random

from micrograd.engine import Value


def test_tanh_from_exp(check):
    # tanh written with exp, +, - and / must give the same value and gradient as the tanh op.
    xs = [-1.3, -0.2, 0.7, 1.9]
    via_exp, via_tanh, grad_exp, grad_tanh = [], [], [], []
    for x in xs:
        a = Value(x)
        e = (2 * a).exp()
        t = (e - 1) / (e + 1)
        t.backward()
        via_exp.append(t.data)
        grad_exp.append(a.grad)
        b = Value(x)
        u = b.tanh()
        u.backward()
        via_tanh.append(u.data)
        grad_tanh.append(b.grad)
    check("tanh built from exp: values", via_exp, tol=1e-6, msg="exp's value is wrong")
    check("tanh built from exp: gradients", grad_exp, tol=1e-6,
          msg="the gradient through e = exp(2a) reused twice is wrong: exp's _backward must ADD out.data * out.grad (+=, not =)")
    check("tanh op: values", via_tanh, tol=1e-6, msg="tanh's value is wrong")
    check("tanh op: gradients", grad_tanh, tol=1e-6, msg="tanh's local derivative is 1 - tanh(x)**2")


def test_reused_activation(check):
    x = Value(0.6)
    e = x.exp()
    y = e * e + e          # e is used three times
    y.backward()
    check("y = e*e + e, e = exp(x): dy/dx", x.grad, tol=1e-6,
          msg="e = x.exp() is used three times: exp's _backward must ADD (+=) to x.grad, after e has collected all of its gradient")

    x = Value(-0.8)
    t = x.tanh()
    y = t * t + t * 3
    y.backward()
    check("y = t*t + 3t, t = tanh(x): dy/dx", x.grad, tol=1e-6,
          msg="t = x.tanh() is used three times: tanh's _backward must ADD (+=) (1 - t**2) * out.grad")

    x = Value(0.7)
    y = x.exp() * x        # x feeds exp and *; the * node runs its _backward first
    y.backward()
    check("y = exp(x) * x: dy/dx", x.grad, tol=1e-6,
          msg="x feeds both exp and *: exp's _backward must ADD to x.grad (+=); with = it wipes out the contribution from *")

    x = Value(0.7)
    y = x.tanh() * x
    y.backward()
    check("y = tanh(x) * x: dy/dx", x.grad, tol=1e-6,
          msg="x feeds both tanh and *: tanh's _backward must ADD to x.grad (+=); with = it wipes out the contribution from *")

    x = Value(0.3)
    y = x.tanh() + x.exp() + x * x
    y.backward()
    check("y = tanh(x) + exp(x) + x*x: dy/dx", x.grad, tol=1e-6,
          msg="x feeds tanh, exp and *: every contribution must be added with +=")


def test_composite(check):
    a, b, c = Value(0.5), Value(-1.2), Value(0.9)
    f = (a * b).tanh() + (c.exp() * a) ** 2 / (1 + b.exp()) - (a + b + c).tanh() * c
    f.backward()
    check("f", f.data, tol=1e-6)
    check("[df/da, df/db, df/dc]", [a.grad, b.grad, c.grad], tol=1e-6, rtol=1e-9,
          msg="an expression mixing tanh and exp with *, +, ** and / has wrong gradients: check both local derivatives and the chain rule (times out.grad)")


def test_tiny_network(check):
    # A 3-4-1 network written out by hand: tanh hidden units, an exp on the output.
    rng = random.Random(check.seed)
    xs = [Value(rng.uniform(-1, 1)) for _ in range(3)]
    w1 = [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
    b1 = [Value(rng.uniform(-0.5, 0.5)) for _ in range(4)]
    w2 = [Value(rng.uniform(-1, 1)) for _ in range(4)]
    hidden = []
    for row, bias in zip(w1, b1):
        act = bias
        for w, x in zip(row, xs):
            act = act + w * x
        hidden.append(act.tanh())
    z = Value(0.1)
    for w, h in zip(w2, hidden):
        z = z + w * h
    out = (z * 0.5).exp()
    out.backward()
    check("output", out.data, tol=1e-6)
    check("input gradients", [x.grad for x in xs], tol=1e-6, rtol=1e-9,
          msg="gradients with respect to the inputs are wrong: each input feeds four tanh units, so four contributions must add up")
    check("first-layer weight gradients", [w.grad for row in w1 for w in row], tol=1e-6, rtol=1e-9,
          msg="first-layer weight gradients are wrong: check tanh's 1 - t**2 and that every _backward multiplies by out.grad")
    check("first-layer bias gradients", [b.grad for b in b1], tol=1e-6, rtol=1e-9)
    check("second-layer weight gradients", [w.grad for w in w2], tol=1e-6, rtol=1e-9,
          msg="second-layer weight gradients are wrong: check exp's local derivative (its own output) times out.grad")


def test_saturation(check):
    values, grads = [], []
    for x in (-8.0, 6.0, 12.0):
        a = Value(x)
        y = a.tanh()
        y.backward()
        values.append(y.data)
        grads.append(a.grad)
    check("tanh far from 0: values", values, tol=1e-6, msg="tanh(x) approaches -1 and 1 for large |x|")
    check("tanh far from 0: gradients", grads, tol=1e-6,
          msg="tanh's gradient vanishes for large |x| (1 - t**2 close to 0); a gradient of 1 - t or 1 - x**2 would not")

    values, grads = [], []
    for x in (-10.0, 5.0, 10.0):
        a = Value(x)
        y = a.exp()
        y.backward()
        values.append(y.data)
        grads.append(a.grad)
    check("exp far from 0: values", values, tol=1e-6, rtol=1e-9)
    check("exp far from 0: gradients", grads, tol=1e-6, rtol=1e-9, msg="exp's gradient is e**x itself: large for large x")


def test_backward_twice(check):
    # Depth one: the input of each operation is a leaf.
    a = Value(0.5)
    y = a.tanh()
    y.backward()
    y.backward()
    check("tanh, backward twice", a.grad, tol=1e-6,
          msg="a second backward() adds the same gradient again: tanh's _backward must use +=")
    a = Value(0.5)
    y = a.exp()
    y.backward()
    y.backward()
    check("exp, backward twice", a.grad, tol=1e-6,
          msg="a second backward() adds the same gradient again: exp's _backward must use +=")
