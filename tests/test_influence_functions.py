"""Mirror test of snippets/influence_functions.py: SymPy closed form, refits, bad input."""

from __future__ import annotations

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


def test_leave_one_out_prediction_is_close():
    x, y = inf.make_data(n=25, seed=3)
    pairs = inf.leave_one_out(x, y, inf.L2, inf.X_TEST, inf.Y_TEST)
    assert len(pairs) == 25
    assert inf.correlation(pairs) > 0.99


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
    assert inf.correlation([(1, 2), (2, 4), (3, 6)]) == pytest.approx(1)


def test_running_the_file_prints_the_results():
    out = run_snippet("influence_functions")
    assert "log-log slope of the error: 1.9" in out and "leave-one-out: correlation" in out


# --- bad input ---


def test_singular_hessian_is_refused():
    # The objective ignores the second parameter: its Hessian has a zero eigenvalue.
    with pytest.raises(ValueError, match="singular or indefinite"):
        inf.influence_on_parameters(
            lambda t: (t[0] - 1) ** 2, lambda t: t[0] ** 2, torch.tensor([1.0, 0.0], dtype=F64)
        )


def test_indefinite_hessian_is_refused():
    with pytest.raises(ValueError, match="singular or indefinite"):
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
