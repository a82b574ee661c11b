import random

from micrograd.engine import Value

# --- random expression graphs -----------------------------------------------------------------
# Each operation is chosen from a seeded RNG, and a plain-float "shadow" computed here in the test
# decides which operations are allowed (no division by tiny numbers, no relu right at 0, no
# fractional power of a negative number). So the graph's shape depends only on the seed, never on
# the engine under test.

UNARY = ["neg", "relu", "pow2", "pow3", "powm1", "pow05", "pow15", "cadd", "crsub", "cmul", "crdiv", "addc", "mulc", "divc", "subc"]
BINARY = ["add", "mul", "sub", "div"]


def _try_op(op, x, y, c):
    """The op on plain floats (x, y), or None when it is not allowed here."""
    if op == "add":
        return x + y
    if op == "mul":
        return x * y
    if op == "sub":
        return x - y
    if op == "div":
        return x / y if abs(y) > 0.5 else None
    if op == "neg":
        return -x
    if op == "relu":
        return (x if x > 0 else 0.0) if abs(x) > 1e-3 else None
    if op == "pow2":
        return x ** 2
    if op == "pow3":
        return x ** 3 if abs(x) < 4 else None
    if op == "powm1":
        return x ** -1 if abs(x) > 0.5 else None
    if op == "pow05":
        return x ** 0.5 if x > 0.1 else None
    if op == "pow15":
        return x ** 1.5 if x > 0.1 else None
    if op == "cadd":
        return c + x
    if op == "crsub":
        return c - x
    if op == "cmul":
        return c * x
    if op == "crdiv":
        return c / x if abs(x) > 0.5 else None
    if op == "addc":
        return x + c
    if op == "mulc":
        return x * c
    if op == "divc":
        return x / c
    if op == "subc":
        return x - c
    raise ValueError(op)


def _apply(op, a, b, c):
    """The same op on Values."""
    return {
        "add": lambda: a + b, "mul": lambda: a * b, "sub": lambda: a - b, "div": lambda: a / b,
        "neg": lambda: -a, "relu": lambda: a.relu(), "pow2": lambda: a ** 2, "pow3": lambda: a ** 3,
        "powm1": lambda: a ** -1, "pow05": lambda: a ** 0.5, "pow15": lambda: a ** 1.5,
        "cadd": lambda: c + a, "crsub": lambda: c - a, "cmul": lambda: c * a, "crdiv": lambda: c / a,
        "addc": lambda: a + c, "mulc": lambda: a * c, "divc": lambda: a / c, "subc": lambda: a - c,
    }[op]()


def _pick(rng, n):
    # Mostly recent nodes (deep graphs), sometimes any node (lots of reuse).
    if rng.random() < 0.7:
        return rng.randrange(max(0, n - 5), n)
    return rng.randrange(n)


def random_graph(rng, n_leaves, n_ops):
    leaves = [Value(rng.choice([-1, 1]) * rng.uniform(0.5, 2.0)) for _ in range(n_leaves)]
    nodes = list(leaves)
    shadow = [v.data for v in leaves]
    while len(nodes) < n_leaves + n_ops:
        op = rng.choice(BINARY + UNARY)
        i, j = _pick(rng, len(nodes)), _pick(rng, len(nodes))
        c = rng.choice([-1, 1]) * rng.uniform(0.5, 3.0)
        value = _try_op(op, shadow[i], shadow[j], c)
        if value is None or abs(value) > 50:
            continue
        nodes.append(_apply(op, nodes[i], nodes[j], c))
        shadow.append(value)
    out = nodes[-1] + nodes[-2] * 0.5 + nodes[-3]
    return leaves, out


def test_random_graphs(check):
    rng = random.Random(check.seed)
    for g in range(6):
        leaves, out = random_graph(rng, n_leaves=rng.randint(2, 5), n_ops=rng.randint(20, 35))
        out.backward()
        check(f"graph {g}: output value", out.data, tol=1e-6, rtol=1e-9,
              msg="the forward value of a random expression differs: check .data of every operation")
        check(f"graph {g}: leaf gradients", [leaf.grad for leaf in leaves], tol=1e-6, rtol=1e-9,
              msg="the gradients of a random expression (with reused nodes) differ: look for = instead of +=, a wrong local derivative, or a node processed twice or too early")


def test_reused_intermediate(check):
    # A non-leaf node used by several later operations must gather all of its gradient
    # before passing it on: that is why backward() needs a topological order.
    a = Value(1.5)
    b = a * a
    c = b + b
    d = c * b + b.relu()
    d.backward()
    check("d.data", d.data, tol=1e-9)
    check("a.grad", a.grad, tol=1e-9,
          msg="b = a*a is used four times: b.grad must add up all contributions (+=) and b._backward must run only after all of them (topological order)")

    x, y = Value(-0.7), Value(2.0)
    s = x * y + x
    t = s * s - s / y + 3 * s
    t.backward()
    check("x.grad", x.grad, tol=1e-9, msg="s is reused by four operations: accumulate with += and run each _backward once, in topological order")
    check("y.grad", y.grad, tol=1e-9, msg="y feeds s and s / y: its gradient has two contributions that must be added")


def test_constants_and_reflected(check):
    x = Value(0.8)
    y = 3 * x + x / 4 - 2 / x + (1 - x) ** 2 - (5 + x) * (2 - x) + 7 / (x + 1)
    y.backward()
    check("value", y.data, tol=1e-9, msg="an expression mixing plain numbers and Values on both sides has the wrong value: check __radd__, __rsub__, __rmul__, __rtruediv__")
    check("x.grad", x.grad, tol=1e-9, msg="the gradient through reflected operations (3 * x, 2 / x, 1 - x) is wrong: check __rsub__ gives other - self and __rtruediv__ gives other / self")


def test_grads_start_at_zero(check):
    a, b, unused = Value(2.0), Value(-1.0), Value(4.0)
    check("fresh Value's grad", a.grad, msg="a new Value's grad must start at 0")
    y = a * b
    check("grad before backward()", a.grad, msg="building the graph must not touch .grad: only backward() fills it in")
    y.backward()
    check("unused leaf's grad", unused.grad, msg="a Value that is not part of the graph must keep grad 0")
    check("a.grad", a.grad, tol=1e-9)


def test_long_chain(check):
    x = Value(0.5)
    y = x
    for i in range(150):
        y = y * 1.01 + 0.001 * (i % 3)
    y = y.relu() + y ** 2
    y.backward()
    check("output", y.data, tol=1e-9, rtol=1e-9)
    check("x.grad", x.grad, tol=1e-9, rtol=1e-9, msg="a long chain of operations: every node must be visited, each once, from the output back")


def test_backward_twice_more(check):
    # Depth-one graphs: every operation's inputs are leaves.
    a = Value(-1.5)
    y = a.relu()
    y.backward()
    y.backward()
    check("relu of a negative, backward twice", a.grad, msg="relu blocks the gradient of a negative input, on every call")

    a = Value(2.0)
    y = a ** 3
    y.backward()
    y.backward()
    check("d(a**3)/da, backward twice", a.grad, tol=1e-9,
          msg="a second backward() must add the same gradient again (as PyTorch does), not replace or reset it")

    a, b = Value(2.0), Value(5.0)
    y = a + b
    y.backward()
    y.backward()
    y.backward()
    check("a.grad after three backward() calls on a + b", a.grad,
          msg="each backward() adds one gradient to a.grad: the output's own grad must be set (=), not increased (+=)")
