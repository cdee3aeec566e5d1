# %% [markdown]
# # Exercise 1: the maximum-likelihood estimator of an exponential rate
#
# Assume you are given datapoints $(x_i)_{i=1}^N$ coming from an exponential
# distribution. The probability density function of an exponential distribution is given
# by $f(x) = \lambda \exp(-\lambda x)$. Derive the maximum likelihood estimator of the
# parameter $\lambda$. (The sheet writes $x_i \in \mathbb{R}$; the density is
# $\lambda e^{-\lambda x}$ only for $x \ge 0$ and $0$ for $x < 0$, with $\lambda > 0$.)
#
# The exercise's web page runs this same code and checks its answers. It needs NumPy and SymPy.

# %%
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.stats import Exponential, density

# %% [markdown]
# ## The data
#
# To try an estimator: samples of these sizes, drawn from an exponential distribution
# whose true rate is `TRUE_RATE`; and `CHECK_DATA`, the five points of the web page's
# "Check your answer" box.

# %%
# --8<-- [start:data]
TRUE_RATE = 2.5
SIZES = [10, 100, 1_000, 10_000, 100_000]
CHECK_SEED = 2026
CHECK_DATA = np.round(np.random.default_rng(CHECK_SEED).exponential(1 / TRUE_RATE, size=5), 2)
# --8<-- [end:data]

# %% [markdown] tags=["your-turn"]
# ## Your turn
#
# Derive $\hat\lambda$ on paper: write the likelihood of the $N$ independent points,
# take its logarithm, differentiate in $\lambda$, set the derivative to zero, and check
# the second derivative. Then turn your formula into code.

# %% tags=["your-turn"]
# Write exponential_mle(x), your formula for a 1-D NumPy array x of points >= 0.
# Then try it on seeded samples of each size in SIZES; it should approach TRUE_RATE:
#
# rng = np.random.default_rng(0)
# for n in SIZES:
#     x = rng.exponential(scale=1 / TRUE_RATE, size=n)
#     print(n, exponential_mle(x))
#
# print(exponential_mle(CHECK_DATA))  # the number the web page's answer box expects

# %% [markdown] tags=["solution"]
# ## The derivation
#
# Assume the $x_i$ are independent and identically distributed, with density
# $f(x) = \lambda e^{-\lambda x}$ for $x \ge 0$, where $\lambda > 0$.
#
# **Likelihood.** Independence makes the joint density the product of the densities:
# $L(\lambda) = \prod_{i=1}^N \lambda e^{-\lambda x_i}$.
#
# **Log-likelihood.** The logarithm is increasing, so it has the same maximiser, and
# $\ln ab = \ln a + \ln b$ turns the product into a sum:
# $\ell(\lambda) = \sum_{i=1}^N \ln\left(\lambda e^{-\lambda x_i}\right)$.
#
# **Each term.** $\ln \lambda e^{-\lambda x_i} = \ln \lambda - \lambda x_i$, so
# $\ell(\lambda) = N \ln \lambda - \lambda \sum_{i=1}^N x_i$.
#
# **Derivative, set to zero.** $\ell'(\lambda) = \frac{N}{\lambda} - \sum_{i=1}^N x_i = 0$
# has one root, $\hat\lambda = \frac{N}{\sum_{i=1}^N x_i} = \frac{1}{\bar x}$,
# provided $\sum_i x_i > 0$.
#
# **Second derivative.** $\ell''(\lambda) = -\frac{N}{\lambda^2} < 0$ for every
# $\lambda > 0$: $\ell$ is strictly concave, so the root is the maximum.
#
# The code below computes $\hat\lambda$, and SymPy checks every line of this
# derivation.


# %% tags=["solution"]
# --8<-- [start:mle]
def exponential_mle(x: object) -> float:
    """The maximum-likelihood estimate of the rate: N / sum(x), in float64.

    Refuses (``ValueError``) data that are empty, not 1-D, negative, NaN or inf, all
    zeros (then the likelihood grows without bound as the rate goes to infinity, and no
    maximum exists), or so close to zero that N / sum(x) overflows float64; and
    (``TypeError``) non-numeric, bool or masked data. A sum that overflows is rescaled.
    """
    x, scale, total = _as_sample(x)
    return _rate(x.size, scale, total)


def unbiased_rate(x: object) -> float:
    """The unbiased estimator (N - 1) / sum(x); refuses what ``exponential_mle`` refuses,
    and fewer than 2 values."""
    x, scale, total = _as_sample(x)
    if x.size < 2:
        raise ValueError(f"x must hold at least 2 values for the unbiased estimator, got {x.size}")
    return (x.size - 1) / x.size * _rate(x.size, scale, total)


def log_likelihood(rate: float, x: object) -> float:
    """l(rate) = N ln(rate) - rate * sum(x), the log-likelihood of an exponential sample.

    Computed in float64 whatever the type of ``rate``; returns a Python float. Refuses
    what ``exponential_mle`` refuses for ``x`` (all zeros are allowed), a ``rate`` that
    is not a real number (``TypeError``) or not finite and > 0, and a result beyond
    float64's range (``ValueError``).
    """
    if isinstance(rate, (bool, np.bool_)) or not isinstance(
        rate, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"rate must be a real number, got {type(rate).__name__}")
    with np.errstate(over="ignore"):
        rate = float(rate)
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be finite and > 0, got {rate}")
    x, scale, total = _as_sample(x)
    value = x.size * np.log(rate) - (rate * scale) * total
    if not np.isfinite(value):
        raise ValueError(f"rate * sum(x) overflows float64 (rate {rate:.3g}, x up to {scale:.3g})")
    return float(value)


def _rate(n: int, scale: float, total: float) -> float:
    """N / (scale * total), refusing a sum of 0 and a result beyond float64."""
    if total == 0.0:
        raise ValueError(
            "x is all zeros: the likelihood N ln(rate) grows without bound, so no MLE exists"
        )
    rate = (n / scale) / total
    if not np.isfinite(rate):
        raise ValueError(f"x is too close to 0: N / sum(x) overflows float64 (sum {total:.3g})")
    return rate


_BLOCK = 32_768  # values per block (256 KB): summed, then its minimum read from cache


def _as_sample(x: object, name: str = "x") -> tuple[np.ndarray, float, float]:
    """Check a sample; return (it as a 1-D float64 array, scale, total), where
    sum(x) = scale * total with both finite (scale > 1 only if the plain sum overflows).

    One pass over the data, in cache-sized blocks: the sum finds NaN and inf (they make
    it non-finite), the minimum finds negative values; float64 input is not copied.
    """
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array: the mask would be ignored")
    try:
        array = np.asarray(x)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} must be a 1-D array of numbers: {error}") from None
    except (TypeError, RuntimeError) as error:  # e.g. a tensor that requires grad, bfloat16
        raise TypeError(
            f"{name} must be an array NumPy can read (for a tensor t, "
            f"t.detach().double().numpy()): {error}"
        ) from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {array.ndim}-D with shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    with np.errstate(over="ignore"):  # a longdouble beyond float64 becomes inf, refused below
        array = array.astype(np.float64, copy=False)
    total, lowest = 0.0, np.inf
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum is handled below
        for start in range(0, array.size, _BLOCK):
            block = array[start : start + _BLOCK]
            total += float(block.sum())
            lowest = min(lowest, float(block.min()))
    if not np.isfinite(total) and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must not contain NaN or inf (as float64)")
    if lowest < 0:
        raise ValueError(f"{name} must be >= 0: the exponential distribution lives on x >= 0")
    if np.isfinite(total):
        return array, 1.0, total
    scale = float(array.max())  # the sum overflows float64: sum x / max(x) instead
    return array, scale, float(np.sum(array / scale))


# --8<-- [end:mle]


# %% [markdown] tags=["solution"]
# The derivation, line by line, as SymPy checks it: each step as written above, next to
# what SymPy derives from the density or from the step before.

# %% tags=["solution"]
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

# %% [markdown] tags=["solution"]
# Simulations: the estimate from seeded samples of growing size, and the bias of
# $N / \sum_i x_i$ (its mean is $\frac{N}{N-1}\lambda$, hence the unbiased $(N-1) / \sum_i x_i$).


# %% tags=["solution"]
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

# %% [markdown] tags=["solution"]
# ## The answers

# %% tags=["solution"]
if __name__ == "__main__":
    steps = {name: shown for name, shown, _ in check_derivation()}
    print("every step of the derivation agrees with SymPy")
    print("MLE: lambda_hat =", steps["root"])
    for n, estimate, error in simulate(TRUE_RATE, SIZES):
        print(f"N = {n:>7}: MLE = {estimate:.4f}, mean |MLE - rate| = {error:.4f}")
