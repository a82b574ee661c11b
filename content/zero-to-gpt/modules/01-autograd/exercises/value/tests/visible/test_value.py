"""Visible tests for the Value engine. Run them as often as you like."""

from micrograd.engine import Value


def draw(check, name, root):
    """Your expression as a graph on the results page: a box per Value (its data and grad) and
    a box per operation, as in the lesson's drawings. Drawing is never graded, and a Value
    without micrograd's _prev / _op attributes simply draws nothing."""
    try:
        nodes, edges, seen = [], [], set()

        def visit(v):
            if id(v) in seen or len(nodes) > 250:
                return
            seen.add(id(v))
            nodes.append((id(v), f"data {v.data:.4g} · grad {v.grad:.4g}"))
            op = getattr(v, "_op", "")
            if op:
                nodes.append((f"{id(v)}{op}", op))
                edges.append((f"{id(v)}{op}", id(v)))
            for child in getattr(v, "_prev", ()):
                visit(child)
                edges.append((id(child), f"{id(v)}{op}" if op else id(v)))

        visit(root)
        check.graph(name, nodes, edges)
    except Exception:
        pass


def test_forward(check):
    a, b = Value(3.0), Value(-2.0)
    check("(a + b).data", (a + b).data, msg="a + b should add the two .data values")
    check("(a * b).data", (a * b).data, msg="a * b should multiply the two .data values")
    check("(a ** 2).data", (a ** 2).data, msg="a ** 2 should raise a.data to the power 2")
    check("a.relu().data", a.relu().data, msg="relu of a positive number is the number itself")
    check("b.relu().data", b.relu().data, msg="relu of a negative number is 0")
    check("(-a).data", (-a).data, msg="-a should be a * -1")
    check("(a - b).data", (a - b).data, msg="a - b should be a + (-b)")
    check("(a / b).data", (a / b).data, msg="a / b should be a * b ** -1")
    check("(a + 1).data", (a + 1).data, msg="a + 1: wrap plain numbers in a Value inside __add__")
    check("(a * 2).data", (a * 2).data, msg="a * 2: wrap plain numbers in a Value inside __mul__")
    check("(1 + a).data", (1 + a).data, msg="1 + a calls a.__radd__(1)")
    check("(2 * a).data", (2 * a).data, msg="2 * a calls a.__rmul__(2)")
    check("(1 - a).data", (1 - a).data, msg="1 - a calls a.__rsub__(1), which must give 1 - a, not a - 1")
    check("(6 / a).data", (6 / a).data, msg="6 / a calls a.__rtruediv__(6), which must give 6 / a, not a / 6")


def test_add_mul_backward(check):
    a, b = Value(3.0), Value(-2.0)
    y = a + b
    y.backward()
    check("y.grad after y.backward()", y.grad, msg="backward() must start by setting the output's grad to 1")
    check("d(a+b)/da", a.grad, msg="+ passes out.grad to each input unchanged (local derivative 1)")
    check("d(a+b)/db", b.grad, msg="+ passes out.grad to each input unchanged (local derivative 1)")

    a, b = Value(3.0), Value(-2.0)
    y = a * b
    y.backward()
    check("d(a*b)/da", a.grad, msg="d(a*b)/da is b: each input of * receives the OTHER input's .data times out.grad")
    check("d(a*b)/db", b.grad, msg="d(a*b)/db is a: each input of * receives the OTHER input's .data times out.grad")

    a, b, c = Value(2.0), Value(-3.0), Value(10.0)
    y = a * b + c
    y.backward()
    draw(check, "y = a * b + c, after backward()", y)
    check("d(a*b+c)/da", a.grad, msg="chain rule: out.grad of the * node (1 here) times b")
    check("d(a*b+c)/db", b.grad, msg="chain rule: out.grad of the * node (1 here) times a")
    check("d(a*b+c)/dc", c.grad, msg="+ passes the gradient through to c unchanged")


def test_pow_relu_backward(check):
    for n in (2, 3, -1, 0.5):
        a = Value(1.5)
        y = a ** n
        y.backward()
        check(f"d(a**{n})/da at a=1.5", a.grad,
              msg=f"d(a**n)/da = n * a**(n-1) (here {n} * 1.5**{n - 1}), times out.grad")

    a = Value(2.5)
    y = a.relu() * 3
    y.backward()
    check("d(3*relu(a))/da at a=2.5", a.grad, msg="relu passes the gradient through where its input is positive")

    a = Value(-2.5)
    y = a.relu() * 3
    y.backward()
    check("d(3*relu(a))/da at a=-2.5", a.grad,
          msg="relu blocks the gradient where its input is negative: a.grad must stay 0")


def test_derived_ops_backward(check):
    cases = {
        "-a": lambda a, b: -a,
        "a - b": lambda a, b: a - b,
        "a / b": lambda a, b: a / b,
        "2 + a": lambda a, b: 2 + a,
        "2 - a": lambda a, b: 2 - a,
        "2 * a": lambda a, b: 2 * a,
        "2 / a": lambda a, b: 2 / a,
        "a / 4": lambda a, b: a / 4,
    }
    for name, fn in cases.items():
        a, b = Value(3.0), Value(-2.0)
        y = fn(a, b)
        y.backward()
        check(f"{name}: value", y.data, msg=f"{name} computes the wrong value")
        check(f"{name}: a.grad", a.grad,
              msg=f"gradient of {name} with respect to a: build it from * , + and ** so their _backward does the work")
        check(f"{name}: b.grad", b.grad, msg=f"gradient of {name} with respect to b")


def readme_expression(a, b):
    """The expression from micrograd's README (github.com/karpathy/micrograd): it works on Values
    and on PyTorch tensors alike."""
    c = a + b
    d = a * b + b ** 3
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + (b + a).relu())
    d = d + (3 * d + (b - a).relu())
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def test_worked_example(check):
    a, b = Value(-4.0), Value(2.0)
    g = readme_expression(a, b)
    g.backward()
    check("g", g.data, tol=1e-6, msg="the forward value of the README expression is off: check the ops' .data")
    check("dg/da", a.grad, tol=1e-6,
          msg="dg/da is off: a node used twice must ADD both gradient contributions (+=), and backward() must visit each node once, in topological order")
    check("dg/db", b.grad, tol=1e-6,
          msg="dg/db is off: a node used twice must ADD both gradient contributions (+=), and backward() must visit each node once, in topological order")

    # The same expression in PyTorch, in float64, as a second opinion for you to read; the checks
    # above are what is graded (the reference's values, which PyTorch's agree with).
    import torch

    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tg = readme_expression(ta, tb)
    tg.backward()
    print(f"yours:   g = {g.data:.4f}, dg/da = {a.grad:.4f}, dg/db = {b.grad:.4f}")
    print(f"PyTorch: g = {tg.item():.4f}, dg/da = {ta.grad.item():.4f}, dg/db = {tb.grad.item():.4f}")


def test_reused_node(check):
    a = Value(-3.0)
    y = a + a
    y.backward()
    check("a.grad after y = a + a", a.grad,
          msg="a.grad after a + a should be 2: gradients from both uses must add up (+=), not overwrite (=)")

    x = Value(3.0)
    y = x * x
    y.backward()
    check("x.grad after y = x * x at x = 3", x.grad,
          msg="x.grad after x * x at x=3 should be 6 (= 2x): both inputs are x, so both contributions must be added with +=")

    x = Value(2.0)
    h = x * 3          # h feeds two later operations
    y = h * h + h
    y.backward()
    check("x.grad after h = 3x, y = h*h + h", x.grad,
          msg="h is used three times: its grad must collect every contribution before it is passed on to x (topological order, +=)")


def test_backward_twice(check):
    # Calling backward() again adds to the leaves' .grad, exactly like PyTorch does with
    # retain_graph=True. (Graphs of depth one here: see the lesson for why.)
    a, b = Value(3.0), Value(-2.0)
    y = a * b
    y.backward()
    check("a.grad after one backward()", a.grad, msg="d(a*b)/da = b")
    y.backward()
    check("a.grad after a second backward()", a.grad,
          msg="a second backward() must ADD to the leaves' .grad (like PyTorch): don't reset leaf grads inside backward(), and set the output's grad to 1 (=, not +=)")
    check("b.grad after a second backward()", b.grad,
          msg="a second backward() must ADD to the leaves' .grad (like PyTorch): don't reset leaf grads inside backward(), and set the output's grad to 1 (=, not +=)")

    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()
    check("x.grad after y = x * x, backward() twice", x.grad,
          msg="two backward() calls on x * x at x=3 give 6 + 6 = 12: gradients accumulate until you zero them")
