from stats import mean, variance


def test_mean_small(check):
    check("mean([1, 2, 3, 4])", mean([1, 2, 3, 4]), tol=1e-9)


def test_variance(check):
    check("variance([1, 2, 3, 4])", variance([1, 2, 3, 4]), tol=1e-9)


def report(c, xs):
    c.true("non-empty", bool(xs))
    c("mean", mean(xs), tol=1e-9)


def test_mean_via_a_helper(check):
    report(c=check, xs=[2.0, 4.0])
