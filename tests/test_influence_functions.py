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


# --- issue 14: silent wrong answers at edge values, and influence at scale ---


def collinear_problem(seed: int, noise: float = 0.0):
    """Logistic regression, no L2, where feature 2 is feature 0 + feature 1 (+ noise).

    theta_hat is the fit on features 0, 1 and the bias, with 0 for feature 2: a true
    minimiser of the four-parameter objective, whose Hessian is singular (noise = 0).
    """
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(40, 2, generator=g, dtype=F64)
    x3 = a.sum(1, keepdim=True) + noise * torch.randn(40, 1, generator=g, dtype=F64)
    x = torch.cat([a, x3, torch.ones(40, 1, dtype=F64)], dim=1)
    y = (torch.rand(40, generator=g, dtype=F64) < torch.sigmoid(a[:, 0] - a[:, 1])).to(F64)
    small = inf.newton_minimise(
        inf.objective_fn(x[:, [0, 1, 3]], y, 0.0), torch.zeros(3, dtype=F64)
    )
    theta_hat = torch.stack([small[0], small[1], torch.zeros((), dtype=F64), small[2]])
    return inf.objective_fn(x, y, 0.0), inf.point_loss_fn(x[0], y[0]), theta_hat


@pytest.mark.parametrize("seed", range(40))
def test_an_exactly_singular_hessian_is_always_refused(seed):
    objective, z, theta_hat = collinear_problem(seed)
    assert inf._gradient(objective, theta_hat, "objective").norm() < 1e-10  # a minimiser
    with pytest.raises(ValueError, match="singular, indefinite or ill-conditioned"):
        inf.influence_on_parameters(objective, z, theta_hat)


def test_an_ill_conditioned_hessian_is_refused_naming_the_condition_number():
    objective, z, theta_hat = collinear_problem(0, noise=1e-8)  # condition number ~1e16
    h = inf.hessian(objective, theta_hat)
    eig = torch.linalg.eigvalsh(h)
    assert eig[-1] / eig[0] > 1e12 or eig[0] <= 0
    with pytest.raises(ValueError, match="max_condition=1e\\+10"):
        inf.influence_on_parameters(objective, z, theta_hat)


def test_a_theta_hat_that_is_not_a_minimiser_is_refused(fitted):
    objective, theta_hat = fitted
    z = inf.point_loss_fn(inf.X[0], inf.Y[0])
    with pytest.raises(ValueError, match="theta_hat is not a minimiser: .* gradient norm is"):
        inf.influence_on_parameters(objective, z, theta_hat + 0.1)
    with pytest.raises(ValueError, match="theta_hat is not a minimiser"):
        inf.HessianFreeSolver(objective, theta_hat + 0.1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_data_are_refused_naming_them(fitted, bad):
    _, theta_hat = fitted
    x = inf.X.clone()
    x[5, 1] = bad
    with pytest.raises(ValueError, match="objective(.s gradient)? is not finite .*NaN or inf"):
        inf.influence_on_parameters(
            inf.objective_fn(x, inf.Y, inf.L2), inf.point_loss_fn(x[0], inf.Y[0]), theta_hat
        )
    objective = inf.objective_fn(inf.X, inf.Y, inf.L2)
    with pytest.raises(ValueError, match="point_loss(.s gradient)? is not finite .*NaN or inf"):
        inf.influence_on_parameters(objective, inf.point_loss_fn(x[5], inf.Y[5]), theta_hat)


def test_a_constant_point_loss_has_zero_influence(fitted):
    objective, theta_hat = fitted
    for constant in (lambda t: torch.tensor(3.0, dtype=F64), lambda t: 0 * t.sum() + 3.0):
        direction = inf.influence_on_parameters(objective, constant, theta_hat)
        assert torch.equal(direction, torch.zeros_like(theta_hat))
        hessian_free = inf.HessianFreeSolver(objective, theta_hat).on_parameters(constant)
        assert torch.equal(hessian_free, torch.zeros_like(theta_hat))


def test_an_objective_that_does_not_depend_on_theta_is_refused():
    with pytest.raises(ValueError, match="objective does not depend on theta"):
        inf.influence_on_parameters(
            lambda t: torch.tensor(1.0, dtype=F64), lambda t: t.sum(), torch.zeros(2, dtype=F64)
        )


@pytest.mark.parametrize(
    "theta, exception, message",
    [
        (torch.zeros(3, dtype=torch.float16), TypeError, "theta must be float64"),
        (torch.zeros(3, dtype=torch.bfloat16), TypeError, "theta must be float64"),
        (torch.zeros(0, dtype=F64), ValueError, "theta must not be empty"),
        (torch.tensor([0.0, float("nan"), 0.0], dtype=F64), ValueError, "theta must not contain"),
        (torch.zeros(3, dtype=torch.float32), ValueError, "objective failed at theta .*float32"),
    ],
)
def test_theta_dtype_and_size_are_checked(theta, exception, message):
    objective = inf.objective_fn(inf.X, inf.Y, inf.L2)  # float64 data
    with pytest.raises(exception, match=message):
        inf.influence_on_parameters(objective, inf.point_loss_fn(inf.X[0], inf.Y[0]), theta)


def test_an_objective_that_changes_the_dtype_is_refused():
    with pytest.raises(TypeError, match="objective returns torch.float64 but theta is"):
        inf.influence_on_parameters(
            lambda t: (t.double() ** 2).sum(), lambda t: t.sum(), torch.zeros(2)
        )


def test_negative_damping_is_refused(fitted):
    objective, theta_hat = fitted
    for solver in (inf.InfluenceSolver, inf.HessianFreeSolver):
        with pytest.raises(ValueError, match="damping must be >= 0"):
            solver(objective, theta_hat, damping=-1.0)


def test_solver_answers_many_queries_like_the_one_shot_function(fitted):
    objective, theta_hat = fitted
    solver = inf.InfluenceSolver(objective, theta_hat)
    test_loss = inf.point_loss_fn(inf.X_TEST, inf.Y_TEST)
    for j in range(0, 60, 7):
        z = inf.point_loss_fn(inf.X[j], inf.Y[j])
        assert torch.allclose(
            solver.on_parameters(z),
            inf.influence_on_parameters(objective, z, theta_hat),
            rtol=1e-12,
            atol=1e-14,
        )
        assert solver.on_loss(z, test_loss) == pytest.approx(
            inf.influence_on_loss(objective, z, test_loss, theta_hat), rel=1e-12
        )


def large_logistic(d: int, n: int, seed: int = 3, l2: float = 0.05):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=F64) / d**0.5
    y = (torch.rand(n, generator=g, dtype=F64) < torch.sigmoid(3 * x[:, 0])).to(F64)
    objective = inf.objective_fn(x, y, l2)
    return x, y, objective, inf.newton_minimise(objective, torch.zeros(d, dtype=F64))


@pytest.mark.parametrize("d, n", [(3, 60), (40, 200), (150, 100)])
def test_hessian_free_agrees_with_the_dense_solve_to_1e_8(d, n):
    x, y, objective, theta_hat = (
        (inf.X, inf.Y, inf.objective_fn(inf.X, inf.Y, inf.L2), None)
        if d == 3
        else large_logistic(d, n)
    )
    if theta_hat is None:
        theta_hat = inf.newton_minimise(objective, torch.zeros(3, dtype=F64))
    dense, free = (
        inf.InfluenceSolver(objective, theta_hat),
        inf.HessianFreeSolver(objective, theta_hat),
    )
    for j in (0, n // 2, n - 1):
        z = inf.point_loss_fn(x[j], y[j])
        a, b = dense.on_parameters(z), free.on_parameters(z)
        assert (a - b).norm() <= 1e-8 * a.norm(), (j, (a - b).norm() / a.norm())


def test_hessian_free_with_damping_solves_the_damped_system(fitted):
    objective, theta_hat = fitted
    z = inf.point_loss_fn(inf.X[3], inf.Y[3])
    for damping in (0.1, 1.0):
        a = inf.InfluenceSolver(objective, theta_hat, damping=damping).on_parameters(z)
        b = inf.HessianFreeSolver(objective, theta_hat, damping=damping).on_parameters(z)
        assert (a - b).norm() <= 1e-10 * a.norm()


def test_hessian_vector_products_match_the_dense_hessian():
    _, _, objective, theta_hat = large_logistic(30, 80)
    solver = inf.HessianFreeSolver(objective, theta_hat)
    h = inf.hessian(objective, theta_hat)
    v = torch.randn(30, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert torch.allclose(solver.hvp(v), h @ v, rtol=1e-12, atol=1e-14)


def test_conjugate_gradient_refuses_an_indefinite_matrix_and_non_convergence():
    a = torch.diag(torch.tensor([1.0, -1.0], dtype=F64))
    with pytest.raises(ValueError, match="curvature .* <= 0 .* add damping"):
        inf.conjugate_gradient(lambda v: a @ v, torch.ones(2, dtype=F64))
    b = torch.diag(torch.logspace(0, 8, 50, dtype=F64))
    with pytest.raises(ValueError, match="did not converge in 3 iterations"):
        inf.conjugate_gradient(lambda v: b @ v, torch.ones(50, dtype=F64), max_iter=3)


def test_hessian_free_refuses_an_indefinite_hessian_without_damping():
    solver = inf.HessianFreeSolver(lambda t: t[0] ** 2 - t[1] ** 2, torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match="add damping"):
        solver.on_parameters(lambda t: t.sum())


def test_leave_one_out_factorises_once(monkeypatch):
    """Leave-one-out over N points forms H once, apart from the Newton steps of the fits."""
    calls, inside_newton = [], []
    real_hessian, real_newton = inf.hessian, inf.newton_minimise

    def newton(*args, **kwargs):
        inside_newton.append(1)
        try:
            return real_newton(*args, **kwargs)
        finally:
            inside_newton.pop()

    monkeypatch.setattr(
        inf, "hessian", lambda *a: calls.append(not inside_newton) or real_hessian(*a)
    )
    monkeypatch.setattr(inf, "newton_minimise", newton)
    inf.leave_one_out(inf.X[:12], inf.Y[:12], inf.L2, inf.X_TEST, inf.Y_TEST)
    assert sum(calls) == 1


# --- beyond the sheet: the MLP on the page ---


@pytest.fixture(scope="module")
def mlp_run():
    return inf.mlp_experiment()


def test_mlp_experiment_holds_what_the_page_says(mlp_run):
    summary = inf.mlp_check(mlp_run)
    assert 10_000 <= mlp_run["d"] <= 100_000
    assert summary["warm_signs"] >= 3 and len(mlp_run["points"]) == 4


def test_mlp_experiment_is_deterministic(mlp_run):
    assert inf.mlp_experiment() == mlp_run


def test_mlp_check_fails_when_a_claim_fails(mlp_run):
    import copy

    broken = copy.deepcopy(mlp_run)
    broken["predictions"][0.0] = broken["predictions"][0.1]
    with pytest.raises(AssertionError, match="undamped"):
        inf.mlp_check(broken)
    broken = copy.deepcopy(mlp_run)
    broken["warm"] = [-w for w in broken["warm"]]
    with pytest.raises(AssertionError, match="signs agree"):
        inf.mlp_check(broken)


def test_hessian_free_on_the_mlp_matches_the_dense_damped_solve():
    """At d = 1,101 the dense damped solve is affordable: CG must agree with it."""
    widths, n = (4, 20, 20, 1), 30
    x, y = inf.make_mlp_data(n, 4, 3)
    theta = inf.mlp_init(widths, 3)

    def objective(t):
        return torch.nn.functional.softplus(-(2 * y - 1) * inf.mlp(t, x, widths)).mean()

    g = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(0), dtype=F64)
    dense = inf.hessian(objective, theta) + 1.0 * torch.eye(theta.numel(), dtype=F64)
    expected = torch.linalg.solve(dense, g)
    for mode in ("forward-over-reverse", "reverse-over-reverse"):
        solver = inf.HessianFreeSolver(
            objective, theta, damping=1.0, grad_tol=float("inf"), hvp=mode
        )
        assert (solver.solve(g) - expected).norm() <= 1e-8 * expected.norm(), mode


def test_hvp_mode_is_checked(fitted):
    with pytest.raises(ValueError, match="hvp must be"):
        inf.HessianFreeSolver(*fitted, hvp="backward")
