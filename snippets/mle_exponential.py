# %% [markdown]
# # Exercise 1: the maximum-likelihood estimator of an exponential rate
#
# This notebook is generated from `snippets/mle_exponential.py`, the same file the
# website runs and the test suite checks. It needs NumPy and SymPy.

# %%
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.stats import Exponential, density


# --8<-- [start:mle]
def _as_sample(x: object, name: str = "x") -> np.ndarray:
    """Return ``x`` as a 1-D float64 array of finite, non-negative values."""
    try:
        array = np.asarray(x)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} must be a 1-D array of numbers: {error}") from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {array.ndim}-D with shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must not contain NaN or inf")
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0: the exponential distribution lives on x >= 0")
    return array.astype(np.float64)


def exponential_mle(x: object) -> float:
    """The maximum-likelihood estimate of the rate: N / sum(x).

    Raises ``ValueError`` if the data are all zeros: then the likelihood grows
    without bound as the rate goes to infinity, and no maximum exists.
    """
    x = _as_sample(x)
    total = float(np.sum(x))
    if total == 0.0:
        raise ValueError(
            "x is all zeros: the likelihood N ln(rate) grows without bound, so no MLE exists"
        )
    return x.size / total


def unbiased_rate(x: object) -> float:
    """The unbiased estimator (N - 1) / sum(x); needs N >= 2."""
    x = _as_sample(x)
    if x.size < 2:
        raise ValueError(f"x must hold at least 2 values for the unbiased estimator, got {x.size}")
    return (x.size - 1) / x.size * exponential_mle(x)


def log_likelihood(rate: float, x: object) -> float:
    """l(rate) = N ln(rate) - rate * sum(x), the log-likelihood of an exponential sample."""
    x = _as_sample(x)
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"rate must be a real number, got {type(rate).__name__}")
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be finite and > 0, got {rate}")
    return x.size * np.log(rate) - rate * float(np.sum(x))


# --8<-- [end:mle]


# --8<-- [start:derivation]
lam = sp.Symbol("lambda", positive=True)
N = sp.Symbol("N", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
xs = sp.IndexedBase("x", nonnegative=True)
SUM_X = sp.Sum(xs[i], (i, 1, N))
# The density, from SymPy's own definition of the distribution (not typed in here).
DENSITY = density(Exponential("X", lam))(xs[i])


def is_same(shown: sp.Expr, derived: sp.Expr) -> bool:
    """True if SymPy proves ``shown - derived`` is identically 0, for every N, lambda and x.

    Sums and products are evaluated, logarithms expanded (ln of a product is the
    sum of the lns; ln e^u = u); then the difference must simplify to 0. There is
    no fallback to checking particular values of N.
    """
    difference = sp.expand_log((shown - derived).doit(), force=True)
    return sp.simplify(sp.expand(difference)) == 0


def derivation() -> list[tuple[str, sp.Expr, sp.Expr]]:
    """The steps of the derivation: (what it is, the step as shown, what SymPy derives).

    "Shown" is written by hand, as on paper; "derived" is computed by SymPy, from
    the density for the first step and from the step before for the others.
    Every pair must agree, or ``check_derivation`` raises.
    """
    likelihood = sp.Product(lam * sp.exp(-lam * xs[i]), (i, 1, N))  # as shown
    log_lik = N * sp.log(lam) - lam * SUM_X  # as shown
    return [
        ("likelihood", likelihood, sp.Product(DENSITY, (i, 1, N))),
        ("log-likelihood", sp.Sum(sp.log(lam * sp.exp(-lam * xs[i])), (i, 1, N)),
         sp.log(likelihood)),
        ("log of a product", sp.Sum(sp.log(lam) - lam * xs[i], (i, 1, N)),
         sp.Sum(sp.expand_log(sp.log(lam * sp.exp(-lam * xs[i])), force=True), (i, 1, N))),
        ("sum the terms", log_lik, sp.Sum(sp.log(lam) - lam * xs[i], (i, 1, N)).doit()),
        ("derivative", N / lam - SUM_X, sp.diff(log_lik, lam)),
        ("root", N / SUM_X, sp.solve(sp.Eq(sp.diff(log_lik, lam), 0), lam)[0]),
        ("second derivative", -N / lam**2, sp.diff(log_lik, lam, 2)),
    ]  # fmt: skip


def check_derivation() -> list[tuple[str, sp.Expr, sp.Expr]]:
    """Raise AssertionError unless every shown step equals SymPy's; return the steps."""
    steps = derivation()
    for name, shown, derived in steps:
        assert is_same(shown, derived), f"step '{name}': {shown} is not {derived}"
    second = steps[-1][1]
    assert second.is_negative, "the second derivative must be negative for every lambda > 0"
    return steps


def expected_mle_sympy() -> tuple[sp.Expr, sp.Expr]:
    """E[N / S] and E[(N - 1) / S], where S = sum(x) ~ Gamma(shape N, rate lambda), N >= 2."""
    s = sp.Symbol("s", positive=True)
    n = sp.Symbol("N", integer=True, positive=True)
    gamma_pdf = lam**n * s ** (n - 1) * sp.exp(-lam * s) / sp.gamma(n)
    mean_mle = sp.integrate(n / s * gamma_pdf, (s, 0, sp.oo), conds="none")
    mean_unbiased = sp.integrate((n - 1) / s * gamma_pdf, (s, 0, sp.oo), conds="none")
    return sp.simplify(mean_mle), sp.simplify(mean_unbiased)


# --8<-- [end:derivation]


# --8<-- [start:simulate]
def simulate(
    rate: float, sizes: list[int], reps: int = 400, seed: int = 2026
) -> list[tuple[int, float, float]]:
    """For each N: (N, the MLE from the first of ``reps`` seeded samples of size N,
    the mean of |MLE - rate| over all ``reps`` samples)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        estimates = []
        chunk = max(1, 2_000_000 // n)  # at most 2 million draws (16 MB) at a time
        for start in range(0, reps, chunk):
            draws = rng.exponential(scale=1 / rate, size=(min(chunk, reps - start), n))
            estimates.append(n / draws.sum(axis=1))  # exponential_mle, one row at a time
        estimates = np.concatenate(estimates)
        rows.append((n, float(estimates[0]), float(np.mean(np.abs(estimates - rate)))))
    return rows


def monte_carlo_means(rate: float, n: int, reps: int, seed: int = 7) -> tuple[float, float, float]:
    """Mean of the MLE and of the unbiased estimator over ``reps`` samples of size ``n``,
    and the standard error of the MLE's mean."""
    rng = np.random.default_rng(seed)
    totals = rng.exponential(scale=1 / rate, size=(reps, n)).sum(axis=1)
    mle, unbiased = n / totals, (n - 1) / totals
    return float(mle.mean()), float(unbiased.mean()), float(mle.std(ddof=1) / np.sqrt(reps))


# --8<-- [end:simulate]


# %% [markdown]
# ## The exercise, numerically
#
# A seeded sample from an exponential distribution with true rate 2.5.

# %%
# --8<-- [start:data]
TRUE_RATE = 2.5
SIZES = [10, 100, 1_000, 10_000, 100_000]
# --8<-- [end:data]

# %%
if __name__ == "__main__":
    check_derivation()
    print("every step of the derivation agrees with SymPy")
    for n, estimate, error in simulate(TRUE_RATE, SIZES):
        print(f"N = {n:>7}: MLE = {estimate:.4f}, mean |MLE - rate| = {error:.4f}")
