from micrograd.nn import MLP, Layer, Neuron


def _set_parameters(module):
    """Give every parameter a distinct, known value, in the order parameters() lists them."""
    params = module.parameters()
    for i, p in enumerate(params):
        p.data = 0.1 * (i % 7 + 1) * (-1) ** i + 0.05 * (i // 7)
    return params


def test_parameter_order(check):
    model = MLP(2, [3, 2])
    check("initial parameter values, in parameters() order", [p.data for p in model.parameters()], tol=1e-12,
          msg="parameters() must list layer by layer, neuron by neuron, each neuron's weights (in input order) then its bias; weights drawn with random.uniform(-1, 1), biases start at 0")
    _set_parameters(model)
    out = model([0.7, -1.2])
    check("outputs after setting parameters in order", [o.data for o in out], tol=1e-9,
          msg="after setting the parameters in parameters() order the outputs differ: the order must be weights then bias, per neuron, per layer, and the bias must be added in every neuron")


def test_neuron(check):
    n = Neuron(3)
    params = n.parameters()
    for p, v in zip(params, [0.5, -1.0, 2.0, 0.25]):
        p.data = v
    check("relu neuron, positive pre-activation", n([1.0, 0.5, 0.25]).data, tol=1e-12,
          msg="Neuron(3)(x) = relu(w . x + b): the bias is the last of parameters() and must be added")
    check("relu neuron, negative pre-activation", n([-1.0, 1.0, -0.5]).data, tol=1e-12,
          msg="a relu neuron outputs 0 when w . x + b is negative")

    lin = Neuron(3, nonlin=False)
    for p, v in zip(lin.parameters(), [0.5, -1.0, 2.0, 0.25]):
        p.data = v
    check("linear neuron, negative pre-activation", lin([-1.0, 1.0, -0.5]).data, tol=1e-12,
          msg="Neuron(nin, nonlin=False) returns w . x + b without relu")


def test_last_layer_linear(check):
    model = MLP(2, [4, 1])
    params = _set_parameters(model)
    params[-1].data = -0.5        # the output neuron's bias (last in parameters() order)
    outputs = [model(x).data for x in ([1.0, 1.0], [-1.0, 0.5], [0.2, -2.0], [-1.5, -1.5])]
    check("outputs (some negative)", outputs, tol=1e-9,
          msg="the last layer of an MLP is linear: its outputs can be negative. Only the hidden layers use relu")

    model = MLP(2, [3, 3, 2])
    params = _set_parameters(model)
    for p in params[-8:]:         # the output layer: 2 neurons x (3 weights + 1 bias)
        p.data = -p.data
    out = model([0.4, -0.9])
    check("two outputs of MLP(2, [3, 3, 2])", [o.data for o in out], tol=1e-9,
          msg="hidden layers use relu (nonlin=True) and only the last layer is linear")


def test_gradients(check):
    model = MLP(3, [4, 4, 1])
    xs = [[0.5, -1.0, 2.0], [1.5, 0.2, -0.3], [-0.8, 0.9, 0.1], [0.0, -1.2, 1.1]]
    targets = [1.0, -1.0, 0.5, -0.5]
    loss = sum((model(x) - t) ** 2 for x, t in zip(xs, targets))
    loss.backward()
    check("loss", loss.data, tol=1e-9)
    check("gradients of every parameter", [p.grad for p in model.parameters()], tol=1e-9, rtol=1e-9,
          msg="the gradients of a squared-error loss through the MLP differ: check the bias in each neuron, relu only on hidden layers, and the parameters() order")


def test_sgd_steps(check):
    model = MLP(3, [4, 4, 1])
    xs = [[0.5, -1.0, 2.0], [1.5, 0.2, -0.3], [-0.8, 0.9, 0.1], [0.0, -1.2, 1.1]]
    targets = [1.0, -1.0, 0.5, -0.5]
    history = []
    for _ in range(15):
        loss = sum((model(x) - t) ** 2 for x, t in zip(xs, targets))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        history.append(loss.data)
    check("loss over 15 SGD steps", history, tol=1e-6, rtol=1e-6,
          msg="the loss over a few SGD steps differs: zero_grad() must reset every parameter (weights and biases) before each backward(), and parameters() must return them all")


def test_layer_shapes(check):
    single = Layer(4, 1)([1.0, 2.0, 3.0, 4.0])
    check("type of Layer(4, 1)(x)", type(single).__name__, exact=True,
          msg="a layer with one neuron returns that neuron's output itself, not a list")
    several = Layer(4, 3)([1.0, 2.0, 3.0, 4.0])
    check("types in Layer(4, 3)(x)",
          [type(v).__name__ for v in several] if isinstance(several, list) else type(several).__name__, exact=True,
          msg="a layer with several neurons returns a list of their outputs")
    check("values of Layer(4, 3)(x)", [v.data for v in several], tol=1e-9,
          msg="each neuron of the layer computes relu(w . x + b) with its own seeded weights")
    check("parameters of MLP(4, [5, 3]) and MLP(1, [1])",
          [len(MLP(4, [5, 3]).parameters()), len(MLP(1, [1]).parameters())],
          msg="count every weight and every bias of every layer")
