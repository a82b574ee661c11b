"""Visible tests for tanh() and exp(). Run them as often as you like."""

from micrograd.engine import Value

POINTS = [-2.0, -0.5, 0.0, 0.3, 1.0, 3.0]


def test_tanh(check):
    values, grads = [], []
    for x in POINTS:
        a = Value(x)
        y = a.tanh()
        y.backward()
        values.append(y.data)
        grads.append(a.grad)
    check(f"tanh(x) at x = {POINTS}", values, tol=1e-6,
          msg="tanh's forward value is wrong: use math.tanh(self.data) (or (e**2x - 1) / (e**2x + 1))")
    check(f"d tanh(x)/dx at x = {POINTS}", grads, tol=1e-6,
          msg="tanh's local derivative is 1 - t**2, where t = tanh(x) is the OUTPUT (not 1 - t, not 1 - x**2)")


def test_exp(check):
    values, grads = [], []
    for x in POINTS:
        a = Value(x)
        y = a.exp()
        y.backward()
        values.append(y.data)
        grads.append(a.grad)
    check(f"exp(x) at x = {POINTS}", values, tol=1e-6, rtol=1e-9, msg="exp's forward value is wrong: use math.exp(self.data)")
    check(f"d exp(x)/dx at x = {POINTS}", grads, tol=1e-6, rtol=1e-9,
          msg="exp's local derivative is e**x itself (out.data), times out.grad; not 1")


def test_neuron(check):
    # The neuron from Karpathy's micrograd lecture: o = tanh(x1*w1 + x2*w2 + b)
    x1, x2 = Value(2.0), Value(0.0)
    w1, w2 = Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.backward()
    print(f"o = {o.data:.4f}; dx1 = {x1.grad:.4f}, dw1 = {w1.grad:.4f}, dx2 = {x2.grad:.4f}, dw2 = {w2.grad:.4f}")
    check("o", o.data, tol=1e-6, msg="o = tanh(n) with n = 0.8814 should be 0.7071 (= 1/sqrt(2))")
    check("do/dn", n.grad, tol=1e-6, msg="do/dn = 1 - o**2 = 0.5: tanh's local derivative uses the output o")
    check("do/dx1", x1.grad, tol=1e-6, msg="do/dx1 = w1 * do/dn = -3 * 0.5 = -1.5")
    check("do/dw1", w1.grad, tol=1e-6, msg="do/dw1 = x1 * do/dn = 2 * 0.5 = 1.0")
    check("do/dx2", x2.grad, tol=1e-6, msg="do/dx2 = w2 * do/dn = 1 * 0.5 = 0.5")
    check("do/dw2", w2.grad, tol=1e-6, msg="do/dw2 = x2 * do/dn = 0 * 0.5 = 0")
    check("do/db", b.grad, tol=1e-6, msg="do/db = do/dn = 0.5: + passes the gradient through")


def test_chain_rule(check):
    # tanh and exp in the middle of an expression: their _backward must multiply by out.grad.
    x = Value(0.4)
    y = (2 * x).tanh() * 3 + (x * -1.5).exp() * 2
    y.backward()
    check("y", y.data, tol=1e-6)
    check("dy/dx", x.grad, tol=1e-6,
          msg="inside an expression, tanh and exp must multiply their local derivative by out.grad (the chain rule), and add with +=")
