def mean(xs):
    # TODO: the average of the numbers in xs
    return 0.0


def variance(xs):
    # TODO: the mean of the squared distances from the mean
    return 0.0
