import random

from stats import mean, variance


def test_random_lists(check):
    rng = random.Random(check.seed)
    for i in range(5):
        xs = [rng.uniform(-10, 10) for _ in range(rng.randint(1, 50))]
        check(f"mean #{i}", mean(xs), tol=1e-9)
        check(f"variance #{i}", variance(xs), tol=1e-9)
