# %% [markdown]
# # Exercise 4: influence functions, derived and checked numerically
#
# This notebook is generated from `snippets/influence_functions.py`, the same file
# the website runs and the test suite checks. It needs PyTorch (and SymPy for the
# closed-form check). Everything is float64.

# %%
from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

F64 = torch.float64  # every tensor here is float64: the checks need the precision


# --8<-- [start:influence]
def _check_theta(theta: object) -> torch.Tensor:
    if not isinstance(theta, torch.Tensor) or not theta.is_floating_point():
        raise TypeError(f"theta must be a floating-point torch.Tensor, got {type(theta).__name__}")
    if theta.ndim != 1:
        raise ValueError(
            f"theta must be 1-D (flatten the parameters), got shape {tuple(theta.shape)}"
        )
    return theta.detach()


def _gradient(fn: Callable, theta: torch.Tensor, name: str) -> torch.Tensor:
    theta = theta.clone().requires_grad_(True)
    value = fn(theta)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise ValueError(f"{name} must return a scalar tensor")
    (grad,) = torch.autograd.grad(value.reshape(()), theta)
    if grad.shape != theta.shape:
        raise ValueError(
            f"{name}'s gradient has shape {tuple(grad.shape)}, theta {tuple(theta.shape)}"
        )
    return grad


def hessian(objective: Callable, theta: torch.Tensor) -> torch.Tensor:
    """The Hessian of ``objective`` at ``theta``, by torch.autograd."""
    theta = _check_theta(theta)
    _gradient(objective, theta, "objective")  # validates the output shape
    return torch.autograd.functional.hessian(lambda t: objective(t).reshape(()), theta)


def influence_on_parameters(
    objective: Callable, point_loss: Callable, theta_hat: torch.Tensor
) -> torch.Tensor:
    """d theta_hat(eps) / d eps at eps = 0, which is -H^{-1} grad L(z; theta_hat).

    ``objective(theta)`` is the training objective that ``theta_hat`` minimises,
    ``point_loss(theta)`` the loss L(z; theta) of the point z whose weight eps is
    changed. Raises ValueError if the Hessian is singular or indefinite.
    """
    theta_hat = _check_theta(theta_hat)
    h = hessian(objective, theta_hat)
    chol, info = torch.linalg.cholesky_ex(h)
    if info != 0:
        smallest = torch.linalg.eigvalsh(h)[0].item()
        raise ValueError(
            "the Hessian of the objective at theta_hat is singular or indefinite "
            f"(smallest eigenvalue {smallest:.3g}); the influence is undefined there"
        )
    grad = _gradient(point_loss, theta_hat, "point_loss")
    return -torch.cholesky_solve(grad[:, None], chol)[:, 0]


def influence_on_loss(
    objective: Callable, point_loss: Callable, test_loss: Callable, theta_hat: torch.Tensor
) -> float:
    """d test_loss(theta_hat(eps)) / d eps at eps = 0: -grad L_test^T H^{-1} grad L(z)."""
    direction = influence_on_parameters(objective, point_loss, theta_hat)
    return float(_gradient(test_loss, _check_theta(theta_hat), "test_loss") @ direction)


# --8<-- [end:influence]


# --8<-- [start:second]
def _directional(fn: Callable, theta: torch.Tensor, v: torch.Tensor, order: int) -> torch.Tensor:
    """grad of fn, differentiated (order - 1) times more along v: H v for order 2,
    the third-derivative tensor applied to (v, v) for order 3 (by double backward)."""
    theta = theta.clone().requires_grad_(True)
    out = fn(theta).reshape(())
    for _ in range(order - 1):
        (g,) = torch.autograd.grad(out, theta, create_graph=True)
        out = g @ v
    (g,) = torch.autograd.grad(out, theta)
    return g.detach()


def second_derivative(
    objective: Callable,
    point_loss: Callable,
    theta_hat: torch.Tensor,
    first: torch.Tensor | None = None,
) -> torch.Tensor:
    """d^2 theta_hat(eps) / d eps^2 at eps = 0 (needs the losses to be C^3).

    Differentiating grad R(theta(eps)) + eps grad L(theta(eps)) = 0 twice gives
    H theta'' = -D^3 R[theta', theta'] - 2 (grad^2 L) theta'. ``first`` is theta'(0)
    if already computed by ``influence_on_parameters``.
    """
    theta_hat = _check_theta(theta_hat)
    if first is None:
        first = influence_on_parameters(objective, point_loss, theta_hat)
    rhs = _directional(objective, theta_hat, first, 3)
    rhs = rhs + 2 * _directional(point_loss, theta_hat, first, 2)
    return -torch.linalg.solve(hessian(objective, theta_hat), rhs)


# --8<-- [end:second]


# --8<-- [start:logistic]
def logistic_losses(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example logistic loss log(1 + exp(-s z)), labels y in {0, 1}, s = 2y - 1."""
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[1] != theta.shape[0]:
        raise ValueError(
            f"shapes do not match: x {tuple(x.shape)} must be (n, d), y {tuple(y.shape)} (n,), "
            f"theta {tuple(theta.shape)} (d,)"
        )
    return torch.nn.functional.softplus(-(2 * y - 1) * (x @ theta))


def objective_fn(x: torch.Tensor, y: torch.Tensor, l2: float) -> Callable:
    """theta -> (1/N) sum_i L(x_i, y_i; theta) + (l2 / 2) |theta|^2."""
    return lambda theta: logistic_losses(theta, x, y).mean() + 0.5 * l2 * theta @ theta


def point_loss_fn(x: torch.Tensor, y: torch.Tensor) -> Callable:
    """theta -> L(x, y; theta) for one point."""
    return lambda theta: logistic_losses(theta, x[None], y[None])[0]


def newton_minimise(objective: Callable, theta0: torch.Tensor, tol: float = 1e-14) -> torch.Tensor:
    """Minimise a smooth, strictly convex objective with Newton's method."""
    theta = _check_theta(theta0).clone()
    for _ in range(100):
        grad = _gradient(objective, theta, "objective")
        step = torch.linalg.solve(hessian(objective, theta), grad)
        theta = theta - step
        if step.abs().max() < tol:
            return theta
    raise RuntimeError("Newton's method did not converge in 100 steps")


def make_data(n: int = 60, d: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A small seeded classification set; the last feature is a constant 1 (the bias)."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, d - 1, generator=generator, dtype=F64)
    x = torch.cat([features, torch.ones(n, 1, dtype=F64)], dim=1)
    true_theta = torch.tensor([1.5, -2.0, 0.3], dtype=F64)[:d]
    p = torch.sigmoid(x @ true_theta)
    y = (torch.rand(n, generator=generator, dtype=F64) < p).to(F64)
    return x, y


def first_order_errors(
    objective: Callable, point_loss: Callable, theta_hat: torch.Tensor, epsilons: list[float]
) -> list[tuple[float, float, float]]:
    """For each eps: (eps, |actual change|, |actual change - eps * influence|), by refitting."""
    direction = influence_on_parameters(objective, point_loss, theta_hat)
    rows = []
    for eps in epsilons:
        refit = newton_minimise(lambda t, e=eps: objective(t) + e * point_loss(t), theta_hat)
        change = refit - theta_hat
        rows.append((eps, change.norm().item(), (change - eps * direction).norm().item()))
    return rows


def loglog_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(ys) against log(xs)."""
    lx = torch.log(torch.tensor(xs, dtype=F64))
    ly = torch.log(torch.tensor(ys, dtype=F64))
    lx, ly = lx - lx.mean(), ly - ly.mean()
    return float((lx @ ly) / (lx @ lx))


def leave_one_out(
    x: torch.Tensor, y: torch.Tensor, l2: float, x_test: torch.Tensor, y_test: torch.Tensor
) -> dict[str, list[float]]:
    """For every training point j, the change of the test loss when j is left out.

    Leaving j out is eps = -1/N in the objective (1/N) sum_i L_i + eps L_j + (l2/2)|theta|^2:
    the remaining sum is still divided by N. Returns four lists over j:
    ``first_order`` (eps times the influence on the test loss), ``second_order`` (plus
    eps^2/2 times its second derivative), ``refit`` (retrained on the other N - 1 points,
    their sum divided by N: exactly theta_hat(-1/N)), and ``refit_mean`` (retrained the
    usual way, their sum divided by N - 1, the same l2).
    """
    n = x.shape[0]
    eps = -1 / n  # removes L_j from the objective, because each L_i carries weight 1/N
    objective = objective_fn(x, y, l2)
    theta_hat = newton_minimise(objective, torch.zeros(x.shape[1], dtype=F64))
    test_loss = point_loss_fn(x_test, y_test)
    base = test_loss(theta_hat).item()
    grad_test = _gradient(test_loss, theta_hat, "test_loss")
    out: dict[str, list[float]] = {k: [] for k in ("first_order", "second_order", "refit",
                                                   "refit_mean")}  # fmt: skip
    for j in range(n):
        z = point_loss_fn(x[j], y[j])
        first = influence_on_parameters(objective, z, theta_hat)
        slope = float(grad_test @ first)  # d/d eps of the test loss at 0: influence_on_loss
        curvature = float(  # d^2/d eps^2 of the test loss at 0, by the chain rule
            first @ _directional(test_loss, theta_hat, first, 2)
            + grad_test @ second_derivative(objective, z, theta_hat, first)
        )
        out["first_order"].append(eps * slope)
        out["second_order"].append(eps * slope + eps**2 / 2 * curvature)
        keep = torch.arange(n) != j
        for key, divisor in (("refit", n), ("refit_mean", n - 1)):
            refit = newton_minimise(
                lambda t, keep=keep, d=divisor: (
                    logistic_losses(t, x[keep], y[keep]).sum() / d + 0.5 * l2 * t @ t
                ),
                theta_hat,
            )
            out[key].append(test_loss(refit).item() - base)
    return out


def scale_check(predicted: list[float], actual: list[float]) -> tuple[float, float]:
    """(slope, relative error): the least-squares slope of ``actual`` against ``predicted``
    through the origin (1 if the scale is right), and the largest |actual - predicted|
    divided by the largest |actual|."""
    p, a = torch.tensor(predicted, dtype=F64), torch.tensor(actual, dtype=F64)
    return float((p @ a) / (p @ p)), float((a - p).abs().max() / a.abs().max())


def check_leave_one_out(
    predicted: list[float], actual: list[float], slope_tol: float, error_tol: float
) -> tuple[float, float]:
    """Raise AssertionError unless the slope is within ``slope_tol`` of 1 and the relative
    error is below ``error_tol``; return (slope, relative error)."""
    slope, error = scale_check(predicted, actual)
    assert abs(slope - 1) < slope_tol, f"leave-one-out: slope {slope:.4f} is not 1 ± {slope_tol}"
    assert error < error_tol, f"leave-one-out: relative error {error:.4f} is not < {error_tol}"
    return slope, error


def correlation(predicted: list[float], actual: list[float]) -> float:
    """Pearson correlation of two lists (blind to scale: see ``scale_check``)."""
    a, b = torch.tensor(predicted, dtype=F64), torch.tensor(actual, dtype=F64)
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (a.norm() * b.norm()))


# --8<-- [end:logistic]


# --8<-- [start:sympy]
def sympy_squared_loss_check() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """1-D model, squared loss L(x; t) = (x - t)^2 / 2, where theta_hat is the mean.

    Returns (theta_hat(eps) in closed form, its exact derivative at eps = 0,
    -H^{-1} grad L at theta_hat); the last two must be equal.
    """
    t, eps, z = sp.symbols("theta epsilon z", real=True)
    n = sp.Symbol("N", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    xs = sp.IndexedBase("x", real=True)
    mean = sp.Sum(xs[i], (i, 1, n)) / n
    risk = sp.Sum((xs[i] - t) ** 2 / 2, (i, 1, n)) / n
    point = (z - t) ** 2 / 2
    (theta_eps,) = sp.solve(sp.expand(sp.diff(risk + eps * point, t)).doit(), t)
    exact = sp.simplify(sp.diff(theta_eps, eps).subs(eps, 0))
    theta_hat = sp.simplify(theta_eps.subs(eps, 0))
    h = sp.expand(sp.diff(risk, t, 2)).doit()
    predicted = sp.simplify(-sp.diff(point, t).subs(t, theta_hat) / h)
    assert sp.simplify(theta_hat - mean) == 0, "theta_hat must be the mean"
    return sp.simplify(theta_eps), exact, predicted


# --8<-- [end:sympy]


# %% [markdown]
# ## The first-order prediction on a logistic regression

# %%
# --8<-- [start:data]
L2 = 0.01  # strength of the L2 regulariser
X, Y = make_data()
X_TEST, Y_TEST = torch.tensor([0.8, -0.4, 1.0], dtype=F64), torch.tensor(1.0, dtype=F64)
EPSILONS = [10.0**k for k in (-2, -2.5, -3, -3.5, -4, -4.5, -5)]
# Leave-one-out, (slope tolerance, relative-error tolerance). The first-order prediction
# misses a term of order 1/N^2, a few per cent here; with that term the rest is ~1/N^3.
LOO_TOLERANCE = {"first_order": (0.1, 0.1), "second_order": (0.006, 0.015)}
# --8<-- [end:data]

# %%
if __name__ == "__main__":
    objective = objective_fn(X, Y, L2)
    theta_hat = newton_minimise(objective, torch.zeros(X.shape[1], dtype=F64))
    z = point_loss_fn(X[0], Y[0])
    direction = influence_on_parameters(objective, z, theta_hat)
    print("theta_hat =", theta_hat.tolist())
    print("d theta_hat / d eps for training point 0 =", direction.tolist())
    rows = first_order_errors(objective, z, theta_hat, EPSILONS)
    for eps, change, error in rows:
        print(f"eps = {eps:.1e}: |change| = {change:.3e}, |change - prediction| = {error:.3e}")
    print("log-log slope of the error:", loglog_slope([r[0] for r in rows], [r[2] for r in rows]))
    print("d^2 theta_hat / d eps^2 =", second_derivative(objective, z, theta_hat).tolist())
    loo = leave_one_out(X, Y, L2, X_TEST, Y_TEST)
    for key, tolerance in LOO_TOLERANCE.items():
        slope, error = check_leave_one_out(loo[key], loo["refit"], *tolerance)
        print(f"leave-one-out, {key}: slope {slope:.4f}, relative error {error:.4f}")
    slope, error = scale_check(loo["first_order"], loo["refit_mean"])
    print(f"leave-one-out, first_order against the (N - 1) refit: slope {slope:.4f}")
