"""The Wilson score interval of a binomial proportion."""

from __future__ import annotations

import math

#: Two-sided 95 % normal quantile, ``scipy.stats.norm.ppf(0.975)``.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for ``successes / trials``.

    .. math::

        \\frac{\\hat p + \\frac{z^2}{2n} \\pm z \\sqrt{\\frac{\\hat p (1-\\hat p)}{n}
        + \\frac{z^2}{4n^2}}}{1 + \\frac{z^2}{n}}

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 or n successes,
    which is exactly where a small slice's recall lives.

    Parameters
    ----------
    successes, trials : int
        ``0 <= successes <= trials``.
    z : float, default 1.96
        Normal quantile of the two-sided level.

    Returns
    -------
    (lower, upper) : tuple of float
        ``(nan, nan)`` when ``trials == 0``.

    Examples
    --------
    >>> [round(b, 4) for b in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if trials == 0:
        return math.nan, math.nan
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    denom = 1 + z2 / trials
    # At 0 or n successes the bound is exactly 0 or 1; rounding would leave ~1e-17 otherwise.
    lower = 0.0 if successes == 0 else (centre - half) / denom
    upper = 1.0 if successes == trials else (centre + half) / denom
    return lower, upper
