"""Mirror test of snippets/mle_exponential.py: the sheet's formula, SymPy, properties, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from conftest import load_snippet, run_snippet
from hypothesis import given, settings
from hypothesis import strategies as st

mle = load_snippet("mle_exponential")


@pytest.mark.parametrize(
    "data, expected",
    [
        ([0.5, 1.0, 1.5, 2.0], 4 / 5.0),  # N / sum(x), worked by hand: 4 / 5
        ([2.0], 0.5),
        ([0.0, 0.0, 4.0], 3 / 4.0),  # zeros are allowed as long as one value is positive
        ([1, 2, 3], 0.5),  # integers work too
    ],
)
def test_sheet_formula_on_hand_made_data(data, expected):
    assert mle.exponential_mle(data) == pytest.approx(expected, rel=1e-15)


def test_unbiased_estimator_by_hand():
    assert mle.unbiased_rate([0.5, 1.0, 1.5, 2.0]) == pytest.approx(3 / 5.0, rel=1e-15)


def test_derivation_checks_pass_and_match_the_sheet():
    steps = {name: shown for name, shown, _ in mle.check_derivation()}
    lam, n, sum_x = mle.lam, mle.N, mle.SUM_X
    # The sheet's printed results: l = N ln(lambda) - lambda sum x, l' = N/lambda - sum x,
    # lambda_hat = N (sum x)^-1.
    assert sp.simplify(steps["sum the terms"] - (n * sp.log(lam) - lam * sum_x)) == 0
    assert sp.simplify(steps["derivative"] - (n / lam - sum_x)) == 0
    assert sp.simplify(steps["root"] - n * sum_x**-1) == 0
    assert sp.simplify(steps["second derivative"] + n / lam**2) == 0


@pytest.mark.parametrize(
    "wrong",
    [
        lambda s: s.N / s.lam + s.SUM_X,  # sign error in the derivative
        lambda s: 2 * s.N / s.lam - s.SUM_X,
    ],
)
def test_a_wrong_step_is_caught(wrong):
    log_lik = mle.N * sp.log(mle.lam) - mle.lam * mle.SUM_X
    assert not mle.is_same(wrong(mle), sp.diff(log_lik, mle.lam))


def test_a_wrong_log_step_is_caught():
    i, lam, xs = mle.i, mle.lam, mle.xs
    wrong = sp.Sum(sp.log(lam) - 2 * lam * xs[i], (i, 1, mle.N))
    right = sp.Sum(sp.log(lam * sp.exp(-lam * xs[i])), (i, 1, mle.N))
    assert mle.is_same(sp.Sum(sp.log(lam) - lam * xs[i], (i, 1, mle.N)), right)
    assert not mle.is_same(wrong, right)


STEP_NAMES = [name for name, _, _ in mle.derivation()]


@pytest.mark.parametrize("name", STEP_NAMES)
def test_a_step_with_an_extra_term_that_vanishes_at_some_n_is_caught(name):
    """(N-1)(N-2)(N-3)(N-7) is 0 at N = 1, 2, 3, 7: a spot check of those N would pass it."""
    shown, derived = {n: (s, d) for n, s, d in mle.derivation()}[name]
    assert mle.is_same(shown, derived)
    n = mle.N
    extra = (n - 1) * (n - 2) * (n - 3) * (n - 7)
    assert all(extra.subs(n, k) == 0 for k in (1, 2, 3, 7))
    assert not mle.is_same(shown + extra, derived), f"step '{name}' accepts an extra term"
    assert not mle.is_same(shown * (1 + extra), derived), f"step '{name}' accepts a factor"


def test_the_likelihood_step_is_derived_from_the_density():
    """The first step is compared with SymPy's exponential density, not with a copy of itself."""
    i, lam, xs = mle.i, mle.lam, mle.xs
    _, shown, derived = mle.derivation()[0]
    assert derived.has(mle.DENSITY) and mle.DENSITY == lam * sp.exp(-lam * xs[i])
    for wrong in (lam * sp.exp(-2 * lam * xs[i]), sp.exp(-lam * xs[i]), lam * sp.exp(lam * xs[i])):
        assert not mle.is_same(sp.Product(wrong, (i, 1, mle.N)), derived)


def test_bias_by_sympy():
    mean_mle, mean_unbiased = mle.expected_mle_sympy()
    n = sp.Symbol("N", integer=True, positive=True)
    assert sp.simplify(mean_mle - n * mle.lam / (n - 1)) == 0
    assert sp.simplify(mean_unbiased - mle.lam) == 0


def test_bias_by_monte_carlo():
    mean_mle, mean_unbiased, se = mle.monte_carlo_means(2.0, 4, 200_000, seed=123)
    assert abs(mean_mle - 4 * 2.0 / 3) < 5 * se
    assert abs(mean_unbiased - 2.0) < 5 * se


samples = st.lists(
    st.floats(0.01, 100, allow_nan=False, allow_infinity=False), min_size=1, max_size=50
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(samples, st.floats(0.001, 1000))
def test_scale_equivariance(x, c):
    x = np.array(x)
    assert mle.exponential_mle(c * x) == pytest.approx(mle.exponential_mle(x) / c, rel=1e-12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(samples, st.floats(0.5, 2.0).filter(lambda f: abs(f - 1) > 1e-6))
def test_the_estimate_maximises_the_log_likelihood(x, factor):
    rate = mle.exponential_mle(x)
    assert mle.log_likelihood(rate, x) > mle.log_likelihood(rate * factor, x)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(samples, st.floats(0.01, 50))
def test_log_likelihood_agrees_with_torch(x, rate):
    dist = torch.distributions.Exponential(torch.tensor(rate, dtype=torch.float64))
    expected = dist.log_prob(torch.tensor(x, dtype=torch.float64)).sum().item()
    assert mle.log_likelihood(rate, x) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_simulation_is_seeded_and_converges():
    rows = mle.simulate(2.5, [10, 100_000], reps=50)
    assert rows == mle.simulate(2.5, [10, 100_000], reps=50)
    assert abs(rows[-1][1] - 2.5) < 0.05
    # The mean error over the replicates is close to sqrt(2/pi) * rate / sqrt(N).
    assert rows[-1][2] == pytest.approx(np.sqrt(2 / np.pi) * 2.5 / np.sqrt(100_000), rel=0.3)


def test_simulation_mean_error_is_the_mean_over_replicates():
    """Against a plain loop over exponential_mle, with the same seeded draws."""
    rng = np.random.default_rng(5)
    draws = rng.exponential(scale=1 / 2.0, size=(30, 40))
    errors = [abs(mle.exponential_mle(row) - 2.0) for row in draws]
    [(n, first, mean_error)] = mle.simulate(2.0, [40], reps=30, seed=5)
    assert n == 40 and first == pytest.approx(mle.exponential_mle(draws[0]), rel=1e-12)
    assert mean_error == pytest.approx(np.mean(errors), rel=1e-12)


def test_running_the_file_prints_the_results():
    out = run_snippet("mle_exponential")
    assert "every step of the derivation agrees with SymPy" in out
    assert "N =  100000" in out


BAD = [
    ("empty", [], ValueError, "x must not be empty"),
    ("2-D", [[1.0, 2.0]], ValueError, "x must be 1-D"),
    ("scalar", 3.0, ValueError, "x must be 1-D"),
    ("negative", [1.0, -0.5], ValueError, "x must be >= 0"),
    ("NaN", [1.0, np.nan], ValueError, "x must not contain NaN"),
    ("inf", [1.0, np.inf], ValueError, "x must not contain NaN or inf"),
    ("all zeros", [0.0, 0.0], ValueError, "x is all zeros"),
    ("strings", ["1", "2"], TypeError, "x must hold real numbers"),
    ("bools", [True, False], TypeError, "x must hold real numbers"),
    ("ragged", [[1.0], [1.0, 2.0]], ValueError, "x must be a 1-D array"),
]


@pytest.mark.parametrize("data, exception, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_naming_the_argument(data, exception, message):
    with pytest.raises(exception, match=message.replace("(", r"\(")):
        mle.exponential_mle(data)


def test_unbiased_needs_two_points_and_log_likelihood_needs_a_positive_rate():
    with pytest.raises(ValueError, match="x must hold at least 2"):
        mle.unbiased_rate([1.0])
    with pytest.raises(ValueError, match="rate must be finite and > 0"):
        mle.log_likelihood(0.0, [1.0])
    with pytest.raises(ValueError, match="rate must be finite and > 0"):
        mle.log_likelihood(float("nan"), [1.0])
    with pytest.raises(TypeError, match="rate must be a real number"):
        mle.log_likelihood("2", [1.0])


# Issue 14: silent wrong answers at edge values.
def test_a_sum_that_overflows_is_rescaled():
    assert mle.exponential_mle([1e308, 1e308]) == pytest.approx(1e-308, rel=1e-15)
    assert mle.unbiased_rate([1e308, 1e308]) == pytest.approx(0.5e-308, rel=1e-15)
    assert mle.exponential_mle([1e308, 1e308, 0.0]) == pytest.approx(1.5e-308, rel=1e-15)


def test_a_rate_that_overflows_is_refused():
    with pytest.raises(ValueError, match="x is too close to 0"):
        mle.exponential_mle([5e-324] * 3)


def test_log_likelihood_with_an_overflowing_sum():
    assert mle.log_likelihood(1e-10, [1e308, 1e308]) == pytest.approx(
        2 * np.log(1e-10) - 2e298, rel=1e-15
    )
    with pytest.raises(ValueError, match="rate \\* sum\\(x\\) overflows"):
        mle.log_likelihood(10.0, [1e308, 1e308])


@pytest.mark.parametrize("rate", [np.float16(2.0), np.float32(2.5), np.int8(3), 2])
def test_log_likelihood_runs_in_float64_and_returns_a_float(rate):
    x = np.linspace(0.1, 3.0, 1000)
    value = mle.log_likelihood(rate, x)
    assert type(value) is float
    r = float(rate)
    assert value == pytest.approx(x.size * np.log(r) - r * float(np.sum(x)), rel=1e-14)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.floats(1e300, 1.7e308), min_size=2, max_size=20))
def test_huge_values_agree_with_exact_rationals(x):
    """Python's fractions give the exact N / sum(x), whatever its size."""
    from fractions import Fraction

    exact = len(x) / sum(Fraction(v) for v in x)
    assert mle.exponential_mle(x) == pytest.approx(float(exact), rel=1e-13)


def test_the_blocked_one_pass_checks_find_faults_in_any_block():
    x = np.ones(3 * mle._BLOCK + 5)
    for position in (0, mle._BLOCK - 1, mle._BLOCK, x.size - 1):
        for value, message in ((np.nan, "NaN or inf"), (-1.0, ">= 0"), (np.inf, "NaN or inf")):
            y = x.copy()
            y[position] = value
            with pytest.raises(ValueError, match=message):
                mle.exponential_mle(y)


HOSTILE = [
    ("masked array", np.ma.masked_array([1.0, 2.0], mask=[0, 1]), TypeError),
    ("longdouble 1e400", np.array([np.longdouble("1e400"), 1.0]), ValueError),
    ("tensor that requires grad", torch.ones(3, requires_grad=True), TypeError),
    ("bfloat16 tensor", torch.ones(3, dtype=torch.bfloat16), TypeError),
]


@pytest.mark.parametrize("data, exception", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_input_is_refused_naming_x(data, exception):
    for fn in (mle.exponential_mle, mle.unbiased_rate, lambda x: mle.log_likelihood(1.0, x)):
        with pytest.raises(exception) as info:
            fn(data)
        assert str(info.value).startswith("x "), str(info.value)


def test_float64_input_is_not_copied():
    x = np.ones(10)
    assert mle._as_sample(x)[0] is x
