from stats import variance


def test_variance_is_small(check):
    check.at_most("variance([1, 2, 3])", variance([1, 2, 3]), 1.0)
