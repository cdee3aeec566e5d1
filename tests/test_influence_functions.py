"""Mirror test of snippets/influence_functions.py: SymPy closed form, refits, bad input."""

from __future__ import annotations

import re

import pytest
import sympy as sp
import torch
from conftest import load_snippet, run_snippet
from hypothesis import given, settings
from hypothesis import strategies as st

inf = load_snippet("influence_functions")
F64 = torch.float64


def test_sympy_closed_form():
    theta_eps, exact, predicted = inf.sympy_squared_loss_check()
    z = sp.Symbol("z", real=True)
    n = sp.Symbol("N", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    mean = sp.Sum(sp.IndexedBase("x", real=True)[i], (i, 1, n)) / n
    assert sp.simplify(exact - (z - mean)) == 0
    assert sp.simplify(predicted - (z - mean)) == 0


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=20),
    st.floats(-10, 10, allow_nan=False),
)
def test_torch_influence_matches_the_closed_form_for_the_mean(xs, z):
    """Squared loss in torch: the influence on the mean must be z - mean (exactly, to rounding)."""
    x = torch.tensor(xs, dtype=F64)
    theta_hat = x.mean().reshape(1)
    direction = inf.influence_on_parameters(
        lambda t: ((x - t[0]) ** 2 / 2).mean(), lambda t: (z - t[0]) ** 2 / 2, theta_hat
    )
    assert direction.item() == pytest.approx(z - x.mean().item(), abs=1e-9)


@pytest.fixture(scope="module")
def fitted():
    objective = inf.objective_fn(inf.X, inf.Y, inf.L2)
    return objective, inf.newton_minimise(objective, torch.zeros(inf.X.shape[1], dtype=F64))


def test_newton_finds_the_minimum(fitted):
    objective, theta_hat = fitted
    theta = theta_hat.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(theta), theta)
    assert grad.abs().max() < 1e-12


@pytest.mark.parametrize("j", [0, 7, 31])
def test_influence_matches_finite_differences_of_refits(fitted, j):
    objective, theta_hat = fitted
    z = inf.point_loss_fn(inf.X[j], inf.Y[j])
    direction = inf.influence_on_parameters(objective, z, theta_hat)
    h = 1e-5
    plus = inf.newton_minimise(lambda t: objective(t) + h * z(t), theta_hat)
    minus = inf.newton_minimise(lambda t: objective(t) - h * z(t), theta_hat)
    central = (plus - minus) / (2 * h)  # error O(h^2)
    torch.testing.assert_close(direction, central, rtol=1e-7, atol=1e-8)


def test_error_shrinks_like_eps_squared(fitted):
    objective, theta_hat = fitted
    z = inf.point_loss_fn(inf.X[0], inf.Y[0])
    rows = inf.first_order_errors(objective, z, theta_hat, inf.EPSILONS)
    slope = inf.loglog_slope([r[0] for r in rows], [r[2] for r in rows])
    assert abs(slope - 2) < 0.05
    assert inf.loglog_slope([r[0] for r in rows], [r[1] for r in rows]) == pytest.approx(
        1, abs=0.05
    )


@pytest.fixture(scope="module")
def loo():
    """Leave-one-out on the page's own data (N = 60, 120 refits: a few seconds)."""
    return inf.leave_one_out(inf.X, inf.Y, inf.L2, inf.X_TEST, inf.Y_TEST)


def test_leave_one_out_prediction_has_the_right_scale(loo):
    assert {len(v) for v in loo.values()} == {inf.X.shape[0]}
    for key, tolerance in inf.LOO_TOLERANCE.items():
        inf.check_leave_one_out(loo[key], loo["refit"], *tolerance)
    # The second-order term is what the first-order prediction misses: with it, the slope
    # is much closer to 1.
    first, _ = inf.scale_check(loo["first_order"], loo["refit"])
    second, _ = inf.scale_check(loo["second_order"], loo["refit"])
    assert abs(second - 1) < abs(first - 1) / 5


@pytest.mark.parametrize("factor", [2.0, 0.5, 60 / 59, 59 / 60])
def test_mis_scaled_leave_one_out_predictions_fail_the_check(loo, factor):
    """Predictions scaled by 2 or 1/2 must fail the first-order check; 1/(N - 1) or
    (N - 1)/N^2 in place of 1/N must fail the second-order one. The correlation cannot
    tell: it is the same for every factor."""
    n = inf.X.shape[0]
    assert factor in (2.0, 0.5) or abs(factor - 1) >= 1 / n - 1e-12
    first = [factor * v for v in loo["first_order"]]
    correction = [s - f for s, f in zip(loo["second_order"], loo["first_order"], strict=True)]
    second = [factor * f + c for f, c in zip(loo["first_order"], correction, strict=True)]
    assert inf.correlation(first, loo["refit"]) == pytest.approx(
        inf.correlation(loo["first_order"], loo["refit"]), rel=1e-12
    )
    with pytest.raises(AssertionError, match="leave-one-out"):
        inf.check_leave_one_out(second, loo["refit"], *inf.LOO_TOLERANCE["second_order"])
    if factor in (2.0, 0.5):
        with pytest.raises(AssertionError, match="leave-one-out"):
            inf.check_leave_one_out(first, loo["refit"], *inf.LOO_TOLERANCE["first_order"])


def test_scale_check_by_hand():
    assert inf.scale_check([1.0, 2.0], [2.0, 4.0]) == pytest.approx((2.0, 0.5))
    assert inf.scale_check([1.0, -2.0], [1.0, -2.0]) == pytest.approx((1.0, 0.0))


@pytest.mark.parametrize("j", [0, 17])
def test_the_refit_without_j_is_theta_hat_of_minus_one_over_n(fitted, j):
    """Dropping L_j and still dividing by N is the objective at eps = -1/N, exactly."""
    objective, theta_hat = fitted
    n = inf.X.shape[0]
    keep = torch.arange(n) != j
    without = inf.newton_minimise(
        lambda t: inf.logistic_losses(t, inf.X[keep], inf.Y[keep]).sum() / n + 0.5 * inf.L2 * t @ t,
        theta_hat,
    )
    z = inf.point_loss_fn(inf.X[j], inf.Y[j])
    weighted = inf.newton_minimise(lambda t: objective(t) - z(t) / n, theta_hat)
    torch.testing.assert_close(without, weighted, rtol=0, atol=1e-12)


@pytest.mark.parametrize("j", [0, 7])
def test_second_derivative_matches_finite_differences_of_refits(fitted, j):
    objective, theta_hat = fitted
    z = inf.point_loss_fn(inf.X[j], inf.Y[j])
    h = 1e-4
    plus = inf.newton_minimise(lambda t: objective(t) + h * z(t), theta_hat)
    minus = inf.newton_minimise(lambda t: objective(t) - h * z(t), theta_hat)
    central = (plus - 2 * theta_hat + minus) / h**2  # error O(h^2), rounding ~1e-16 / h^2
    torch.testing.assert_close(
        inf.second_derivative(objective, z, theta_hat), central, rtol=1e-5, atol=1e-5
    )


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=20),
    st.floats(-10, 10, allow_nan=False),
)
def test_second_derivative_for_the_mean(xs, z):
    """theta_hat(eps) = (mean + eps z) / (1 + eps), so theta_hat''(0) = -2 (z - mean)."""
    x = torch.tensor(xs, dtype=F64)
    theta_hat = x.mean().reshape(1)
    second = inf.second_derivative(
        lambda t: ((x - t[0]) ** 2 / 2).mean(), lambda t: (z - t[0]) ** 2 / 2, theta_hat
    )
    assert second.item() == pytest.approx(-2 * (z - x.mean().item()), abs=1e-9)


def test_influence_on_loss_is_the_chain_rule(fitted):
    objective, theta_hat = fitted
    z, test = inf.point_loss_fn(inf.X[2], inf.Y[2]), inf.point_loss_fn(inf.X_TEST, inf.Y_TEST)
    direction = inf.influence_on_parameters(objective, z, theta_hat)
    theta = theta_hat.clone().requires_grad_(True)
    (grad_test,) = torch.autograd.grad(test(theta), theta)
    assert inf.influence_on_loss(objective, z, test, theta_hat) == pytest.approx(
        float(grad_test @ direction), rel=1e-12
    )


def test_loglog_slope_and_correlation_helpers():
    assert inf.loglog_slope([1, 10, 100], [3, 300, 30000]) == pytest.approx(2)
    assert inf.correlation([1, 2, 3], [2, 4, 6]) == pytest.approx(1)


def test_running_the_file_prints_the_results():
    out = run_snippet("influence_functions")
    slope = re.search(r"log-log slope of the error: ([0-9.]+)", out)
    assert slope and abs(float(slope.group(1)) - 2) < 0.05, out
    for key in inf.LOO_TOLERANCE:
        found = re.search(rf"leave-one-out, {key}: slope ([0-9.]+), relative error ([0-9.]+)", out)
        assert found and abs(float(found.group(1)) - 1) < inf.LOO_TOLERANCE[key][0], out


# --- bad input ---


def test_singular_hessian_is_refused():
    # The objective ignores the second parameter: its Hessian has a zero eigenvalue.
    with pytest.raises(ValueError, match="singular, indefinite"):
        inf.influence_on_parameters(
            lambda t: (t[0] - 1) ** 2, lambda t: t[0] ** 2, torch.tensor([1.0, 0.0], dtype=F64)
        )


def test_indefinite_hessian_is_refused():
    with pytest.raises(ValueError, match="singular, indefinite"):
        inf.influence_on_parameters(
            lambda t: t[0] ** 2 - t[1] ** 2, lambda t: t.sum(), torch.tensor([0.0, 0.0], dtype=F64)
        )


def test_mismatched_shapes_are_refused():
    x, y = inf.make_data(n=10)
    with pytest.raises(ValueError, match="shapes do not match"):
        inf.logistic_losses(torch.zeros(4, dtype=F64), x, y)  # theta has the wrong length
    with pytest.raises(ValueError, match="shapes do not match"):
        inf.logistic_losses(torch.zeros(3, dtype=F64), x, y[:-1])
    with pytest.raises(ValueError, match="shapes do not match"):
        inf.objective_fn(x, y, 0.1)(torch.zeros(2, dtype=F64))


@pytest.mark.parametrize(
    "theta, exception, message",
    [
        ([1.0, 2.0], TypeError, "theta must be a floating-point torch.Tensor"),
        (torch.tensor([1, 2]), TypeError, "theta must be a floating-point"),
        (torch.zeros(2, 2, dtype=F64), ValueError, "theta must be 1-D"),
    ],
)
def test_bad_theta(theta, exception, message):
    with pytest.raises(exception, match=message):
        inf.influence_on_parameters(lambda t: (t**2).sum(), lambda t: t.sum(), theta)


def test_non_scalar_losses_are_refused():
    theta = torch.zeros(2, dtype=F64)
    with pytest.raises(ValueError, match="objective must return a scalar"):
        inf.influence_on_parameters(lambda t: t**2, lambda t: t.sum(), theta)
    with pytest.raises(ValueError, match="point_loss must return a scalar"):
        inf.influence_on_parameters(lambda t: (t**2).sum(), lambda t: t, theta)
