def mean(xs):
    return sum(xs) / len(xs)


def variance(xs):
    mu = mean(xs)
    return sum((x - mu) ** 2 for x in xs) / len(xs)
