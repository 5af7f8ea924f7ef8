"""Group-sequential boundaries: how much of alpha each look may spend, and the
z boundary and nominal p-value that spends it (Lan & DeMets, Biometrika 1983; the
recursive numerical integration of Armitage, McPherson & Rowe, JRSS A 1969). The
decision rule that uses them is sequential.py."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special
from scipy.optimize import brentq

# Grid points per unit of standard deviation in the numerical integration.
_GRID_PER_SD = 40


def normal_cdf(x):
    return special.ndtr(x)


def obrien_fleming_spending(t: float, alpha: float) -> float:
    """Two-sided alpha spent by information fraction t: each side spends alpha / 2 by
    Lan and DeMets' O'Brien-Fleming-type function 2 - 2 Phi(z_{1 - a/2} / sqrt(t))
    with a = alpha / 2, as gsDesign's sfLDOF and rpact's asOF do for a two-sided
    design (four equal looks at alpha 0.05: z 4.33, 2.96, 2.36, 2.01)."""
    if t <= 0:
        return 0.0
    side = 2 * normal_cdf(special.ndtri(alpha / 4) / math.sqrt(min(t, 1.0)))  # upper tails
    return float(2 * side)


@lru_cache(maxsize=256)
def boundaries(looks: tuple[int, ...], alpha: float) -> tuple[float, ...]:
    """Two-sided z boundaries c_1..c_K for looks after ``looks`` seeds: under no
    difference, P(|Z_j| < c_j for j < k, |Z_k| >= c_k) is the alpha spent between
    looks k - 1 and k. The score S_k = Z_k sqrt(n_k) has independent normal
    increments; its density on the continuation region is carried from look to look
    on a grid (Armitage, McPherson & Rowe 1969)."""
    cap = looks[-1]
    spent = [obrien_fleming_spending(n / cap, alpha) for n in looks]
    bounds: list[float] = []
    grid = density = None
    previous_info = 0
    for k, info in enumerate(looks):
        target = spent[k] - (spent[k - 1] if k else 0.0)
        step_sd = math.sqrt(info - previous_info)
        if k == 0:
            c = float(-special.ndtri(target / 2))
        else:
            # P(cross at k) = sum over the grid of f(u) P(|u + X| >= c sqrt(info)).
            def crossing(c, grid=grid, density=density, step_sd=step_sd, info=info):
                edge = c * math.sqrt(info)
                inside = normal_cdf((edge - grid) / step_sd) - normal_cdf((-edge - grid) / step_sd)
                return float(np.sum(density * (1 - inside)))

            # Where less is left to cross than is to be spent, every path stops.
            if crossing(0.0) <= target:
                c = 0.0
            else:
                c = float(brentq(lambda c: crossing(c) - target, 0.0, 40.0, xtol=1e-10))
        bounds.append(c)
        # The density of S_k on |S_k| < c sqrt(info), for the next look.
        edge = c * math.sqrt(info)
        if edge == 0:
            break  # nothing continues past this look
        points = max(401, int(2 * edge / math.sqrt(info) * _GRID_PER_SD) | 1)
        new_grid = np.linspace(-edge, edge, points)
        weights = np.full(points, 2.0)
        weights[1::2] = 4.0
        weights[0] = weights[-1] = 1.0
        weights *= (new_grid[1] - new_grid[0]) / 3  # Simpson's rule
        if k == 0:
            pdf = np.exp(-0.5 * new_grid**2 / info) / math.sqrt(2 * math.pi * info)
        else:
            z = (new_grid[:, None] - grid[None, :]) / step_sd
            kernel = np.exp(-0.5 * z**2) / (math.sqrt(2 * math.pi) * step_sd)
            pdf = kernel @ density
        grid, density, previous_info = new_grid, pdf * weights, info
    return tuple(bounds)


def nominal_levels(looks: tuple[int, ...], alpha: float) -> tuple[float, ...]:
    """The two-sided nominal p-value each look's boundary stands for."""
    return tuple(float(2 * normal_cdf(-c)) for c in boundaries(looks, alpha))


def t_boundary(n: int, nominal: float) -> float:
    """The paired t statistic of n seeds at the same two-sided p-value."""
    return float(special.stdtrit(n - 1, 1 - nominal / 2))


@lru_cache(maxsize=16)
def level_curve(looks: tuple[int, ...]):
    """Each look's nominal two-sided level as a function of the design's alpha, on
    a grid (log-spaced), for inverting: alphas (G,), levels (G, K)."""
    # p-values below 1e-6 are reported as 1e-6, above 0.9 as 1.
    alphas = np.geomspace(1e-6, 0.9, 121)
    return alphas, np.array([nominal_levels(looks, float(a)) for a in alphas])
