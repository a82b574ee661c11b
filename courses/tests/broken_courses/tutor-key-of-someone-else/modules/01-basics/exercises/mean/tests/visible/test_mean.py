from stats import mean, variance


def test_mean_small(check):
    check("mean([1, 2, 3, 4])", mean([1, 2, 3, 4]), tol=1e-9)


def test_variance(check):
    check("variance([1, 2, 3, 4])", variance([1, 2, 3, 4]), tol=1e-9)
