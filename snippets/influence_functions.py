# %% [markdown]
# # Exercise 4: influence functions
#
# Let $\hat\theta$ and $\hat\theta(\epsilon)$ be as defined in class:
# $\hat\theta$ minimises the empirical risk
# $R(\theta) = \frac{1}{N} \sum_{i=1}^{N} L(x_i, y_i; \theta)$ over the $N$ training
# points, and $\hat\theta(\epsilon)$ minimises $R(\theta) + \epsilon\, L(z; \theta)$, the
# same objective with one point $z = (x, y)$ given the extra weight $\epsilon$. Show that
# the first order Taylor expansion of $\hat\theta(\epsilon)$ around $\epsilon = 0$ is
# given by the equation given in class, i.e. by
#
# $$
# \hat\theta(\epsilon) \approx \hat\theta
#   + \epsilon \left.\frac{d\hat\theta(\epsilon)}{d\epsilon}\right|_{\epsilon=0}.
# $$
#
#
# Assume that $L$ is twice continuously differentiable in $\theta$, that
# $R + \epsilon L(z; \cdot)$ is strictly convex with a minimiser for every small
# $\epsilon$, and that the Hessian $H = \nabla^2_\theta R(\hat\theta)$ is invertible.
#
# The exercise's web page runs this same code and checks its answers. It needs PyTorch
# (and SymPy for the closed-form check). Everything is float64.

# %%
from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

F64 = torch.float64  # every tensor here is float64: the checks need the precision

# %% [markdown]
# ## The data: a case small enough to do by hand
#
# Three points and the squared loss $L(x; \theta) = \frac{1}{2}(x - \theta)^2$, whose
# minimiser $\hat\theta$ is the mean $\bar x$; the point $z$ gets the extra weight
# $\epsilon$.

# %%
POINTS = torch.tensor([1.0, 2.0, 6.0], dtype=F64)
Z = torch.tensor(6.0, dtype=F64)

# %% [markdown] tags=["your-turn"]
# ## Your turn
#
# 1. Why is $\hat\theta(0) = \hat\theta$? Write the first order Taylor expansion.
# 2. Find $\left.\frac{d\hat\theta(\epsilon)}{d\epsilon}\right|_{\epsilon=0}$ in
#    general: the gradient of the objective vanishes at $\hat\theta(\epsilon)$ for every
#    small $\epsilon$; differentiate that in $\epsilon$.
# 3. Apply it to the data above: at what rate does the mean move when $z$ is upweighted?

# %% tags=["your-turn"]
# Check your rate numerically: theta_hat(eps), the minimiser of the weighted objective
# mean((POINTS - t)**2 / 2) + eps * (Z - t)**2 / 2, has a closed form (set its
# derivative in t to zero). Compare (theta_hat(eps) - theta_hat(0)) / eps, for a small
# eps such as 1e-6, with your formula.

# %% [markdown] tags=["solution"]
# ## The derivation
#
# **The expansion.** At $\epsilon = 0$ the two objectives are the same, so
# $\hat\theta(0) = \hat\theta$ (the minimiser is unique by strict convexity). If
# $\hat\theta(\epsilon)$ is differentiable at $0$, its first order Taylor expansion is
# $\hat\theta(\epsilon) \approx \hat\theta(0) + \epsilon\, \hat\theta'(0) =
# \hat\theta + \epsilon \left.\frac{d\hat\theta(\epsilon)}{d\epsilon}\right|_{\epsilon=0}$,
# which is the equation from class.
#
# **The derivative.** $\hat\theta(\epsilon)$ minimises a differentiable objective, so
# its gradient vanishes there, for every small $\epsilon$:
# $0 = \nabla R(\hat\theta(\epsilon)) + \epsilon\, \nabla L(z; \hat\theta(\epsilon))$.
# $H$ is invertible, so by the implicit function theorem $\hat\theta(\epsilon)$ is
# differentiable, and differentiating in $\epsilon$ (chain rule, product rule) at
# $\epsilon = 0$ gives $0 = H \left.\frac{d\hat\theta}{d\epsilon}\right|_{0} +
# \nabla L(z; \hat\theta)$. Multiply by $H^{-1}$:
# $\left.\frac{d\hat\theta(\epsilon)}{d\epsilon}\right|_{\epsilon=0} =
# -H^{-1} \nabla_\theta L(z; \hat\theta)$.
#
# **Removing a point** is $\epsilon = -\frac{1}{N}$: it cancels $z$'s share of $R$.
# So $\hat\theta_{-z} - \hat\theta \approx \frac{1}{N} H^{-1} \nabla_\theta L(z; \hat\theta)$.
#
# **The hand case.** For the squared loss $R(\theta) = \frac{1}{N}\sum_i \frac{1}{2}(x_i -
# \theta)^2$: $\hat\theta = \bar x$, $H = 1$ and $\nabla_\theta L(z; \bar x) = -(z - \bar x)$,
# so the mean moves at rate $z - \bar x$. The next cells compute
# $-H^{-1} \nabla_\theta L$ for any differentiable loss, and apply it to the data.


# %% tags=["solution"]
# --8<-- [start:influence]
def influence_on_parameters(
    objective: Callable, point_loss: Callable, theta_hat: torch.Tensor
) -> torch.Tensor:
    """d theta_hat(eps) / d eps at eps = 0, which is -H^{-1} grad L(z; theta_hat).

    ``objective(theta)`` is the training objective that ``theta_hat`` minimises,
    ``point_loss(theta)`` the loss L(z; theta) of the point z whose weight eps is
    changed. One query; for many, build an ``InfluenceSolver`` once (or a
    ``HessianFreeSolver`` for large d). Refuses what ``InfluenceSolver`` refuses, and a
    ``point_loss`` that is not a finite scalar; a constant point loss has influence 0.
    """
    return InfluenceSolver(objective, theta_hat).on_parameters(point_loss)


def influence_on_loss(
    objective: Callable, point_loss: Callable, test_loss: Callable, theta_hat: torch.Tensor
) -> float:
    """d test_loss(theta_hat(eps)) / d eps at eps = 0: -grad L_test^T H^{-1} grad L(z).

    Refuses what ``influence_on_parameters`` refuses, and the same of ``test_loss``.
    """
    return InfluenceSolver(objective, theta_hat).on_loss(point_loss, test_loss)


def _check_theta(theta: object) -> torch.Tensor:
    """``theta`` detached, or raise: a non-empty, finite, 1-D float32/float64 tensor."""
    if not isinstance(theta, torch.Tensor) or not theta.is_floating_point():
        raise TypeError(f"theta must be a floating-point torch.Tensor, got {type(theta).__name__}")
    if theta.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"theta must be float64 (or float32), got {theta.dtype}: too few digits for a "
            "Hessian solve; use theta.double()"
        )
    if theta.ndim != 1:
        raise ValueError(
            f"theta must be 1-D (flatten the parameters), got shape {tuple(theta.shape)}"
        )
    if theta.numel() == 0:
        raise ValueError("theta must not be empty")
    if not torch.isfinite(theta).all():
        raise ValueError("theta must not contain NaN or inf")
    return theta.detach()


def _value(fn: Callable, theta: torch.Tensor, name: str) -> torch.Tensor:
    """fn(theta) as a finite scalar tensor of theta's dtype, or raise naming ``name``."""
    try:
        value = fn(theta)
    except RuntimeError as error:  # e.g. float32 theta with float64 data
        raise ValueError(
            f"{name} failed at theta (dtype {theta.dtype}, shape {tuple(theta.shape)}): {error}"
        ) from None
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise ValueError(f"{name} must return a scalar tensor")
    if value.dtype != theta.dtype:
        raise TypeError(
            f"{name} returns {value.dtype} but theta is {theta.dtype}: give theta the data's dtype"
        )
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} is not finite at theta (NaN or inf in the data or the model?)")
    return value.reshape(())


def _gradient(fn: Callable, theta: torch.Tensor, name: str) -> torch.Tensor:
    """The gradient of fn at theta; zeros where fn does not depend on theta."""
    theta = theta.clone().requires_grad_(True)
    value = _value(fn, theta, name)
    if not value.requires_grad:  # a constant: zero gradient
        return torch.zeros_like(theta).detach()
    (grad,) = torch.autograd.grad(value, theta, allow_unused=True)
    if grad is None:
        return torch.zeros_like(theta).detach()
    if not torch.isfinite(grad).all():
        raise ValueError(f"{name}'s gradient is not finite at theta (NaN or inf in the data?)")
    return grad.detach()


def hessian(objective: Callable, theta: torch.Tensor) -> torch.Tensor:
    """The Hessian of ``objective`` at ``theta``: d x d, so for d up to a few thousand.

    For d > 64, reverse-over-reverse with ``torch.func`` (vectorised); otherwise, or
    if ``torch.func`` cannot transform the objective, one backward pass per parameter.
    Refuses what ``influence_on_parameters`` refuses for ``objective`` and ``theta``.
    """
    theta = _check_theta(theta)
    if not _value(objective, theta.clone().requires_grad_(True), "objective").requires_grad:
        raise ValueError("objective does not depend on theta: its Hessian is 0")
    scalar = lambda t: objective(t).reshape(())  # noqa: E731
    h = None
    if theta.numel() > 64:  # below this, the plain loop is faster than vectorising
        try:
            h = torch.func.jacrev(torch.func.grad(scalar))(theta)
        except RuntimeError:  # e.g. .item() or in-place operations inside the objective
            pass
    if h is None:
        h = torch.autograd.functional.hessian(scalar, theta)
    if not torch.isfinite(h).all():
        raise ValueError("objective's Hessian is not finite at theta")
    return h.detach()


def _extreme_eigenvalues(
    h: torch.Tensor, cholesky: torch.Tensor, iterations: int = 30
) -> tuple[float, float]:
    """(largest, smallest) eigenvalue of a positive definite h, estimated by power
    iteration on h and on h^{-1} (through its Cholesky factor): O(d^2) per iteration,
    where a full eigendecomposition would cost O(d^3)."""
    start = torch.randn(h.shape[0], generator=torch.Generator().manual_seed(0), dtype=h.dtype)
    v = u = start / start.norm()
    largest = smallest_inverse = 0.0
    for _ in range(iterations):
        w = h @ v
        largest, v = (v @ w).item(), w / w.norm()
        w = torch.cholesky_solve(u[:, None], cholesky)[:, 0]
        smallest_inverse, u = (u @ w).item(), w / w.norm()
    return largest, 1.0 / smallest_inverse if smallest_inverse > 0 else 0.0


class InfluenceSolver:
    """Factorise the Hessian once, then answer any number of influence queries.

    ``objective(theta)`` is the training objective that ``theta_hat`` minimises.
    Building the solver computes H (+ ``damping`` I) and its Cholesky factor, O(d^3);
    each query then costs one gradient and one O(d^2) solve.

    Refuses (``ValueError``): a ``theta_hat`` where the objective's gradient norm
    exceeds ``grad_tol`` (not a minimiser; the formula assumes one); a Hessian that is
    indefinite, singular or has condition number (estimated by power iteration, O(d^2))
    above ``max_condition`` (the solve
    would lose more than log10(max_condition) of float64's 16 digits); NaN or inf in
    theta, the objective, its gradient or Hessian; an objective that does not depend on
    theta; a non-scalar objective; a negative ``damping``. (``TypeError``): a theta
    that is not a float32/float64 1-D tensor, or whose dtype the objective does not keep.
    """

    def __init__(
        self,
        objective: Callable,
        theta_hat: torch.Tensor,
        *,
        damping: float = 0.0,
        grad_tol: float = 1e-6,
        max_condition: float = 1e10,
    ) -> None:
        self.objective, self.theta_hat = objective, _check_theta(theta_hat)
        if not damping >= 0:
            raise ValueError(f"damping must be >= 0, got {damping}")
        grad_norm = _gradient(objective, self.theta_hat, "objective").norm().item()
        if grad_norm > grad_tol:
            raise ValueError(
                f"theta_hat is not a minimiser: the objective's gradient norm is {grad_norm:.3g} "
                f"> grad_tol={grad_tol:g}; minimise further (or raise grad_tol knowingly)"
            )
        h = hessian(objective, self.theta_hat)
        h = h + damping * torch.eye(h.shape[0], dtype=h.dtype)
        cholesky, info = torch.linalg.cholesky_ex(h)
        if info == 0:  # positive definite to rounding: estimate the extreme eigenvalues
            largest, smallest = _extreme_eigenvalues(h, cholesky)
            detail = f"eigenvalues from about {smallest:.3g} to {largest:.3g}"
        else:
            largest, smallest = 1.0, 0.0
            detail = f"not positive definite: Cholesky fails at column {int(info)}"
        if smallest <= largest / max_condition:
            raise ValueError(
                f"objective's Hessian at theta_hat is singular, indefinite or ill-conditioned "
                f"({detail}); the influence is undefined or unreliable there (refused above "
                f"condition number max_condition={max_condition:g}; a non-convex model needs "
                "damping)"
            )
        self.condition, self.cholesky = largest / smallest, cholesky

    def solve(self, g: torch.Tensor) -> torch.Tensor:
        """(H + damping I)^{-1} g for a vector g."""
        return torch.cholesky_solve(g[:, None], self.cholesky)[:, 0]

    def on_parameters(self, point_loss: Callable) -> torch.Tensor:
        """-H^{-1} grad L(z; theta_hat): d theta_hat(eps) / d eps at eps = 0."""
        return -self.solve(_gradient(point_loss, self.theta_hat, "point_loss"))

    def on_loss(self, point_loss: Callable, test_loss: Callable) -> float:
        """-grad L_test^T H^{-1} grad L(z): d test_loss(theta_hat(eps)) / d eps at 0."""
        grad_test = _gradient(test_loss, self.theta_hat, "test_loss")
        return float(grad_test @ self.on_parameters(point_loss))


def conjugate_gradient(
    matvec: Callable, b: torch.Tensor, tol: float = 1e-12, max_iter: int | None = None
) -> tuple[torch.Tensor, int]:
    """Solve A x = b for symmetric positive definite A, given only v -> A v.

    Stops when |A x - b| <= tol |b|; returns (x, iterations). Refuses (``ValueError``)
    an A with a direction of curvature <= 0 (not positive definite: add damping) and
    no convergence within ``max_iter`` (default 10 d) iterations.
    """
    x, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), r @ r
    stop, limit = (tol * b.norm()) ** 2, max_iter if max_iter is not None else 10 * b.numel()
    for iteration in range(limit + 1):
        if rr <= stop:
            return x, iteration
        ap = matvec(p)
        curvature = p @ ap
        if not curvature > 0:
            raise ValueError(
                f"the matrix has curvature p·Ap/|p|² = {(curvature / (p @ p)).item():.3g} <= 0 "
                "along a direction (not positive definite): add damping"
            )
        alpha = rr / curvature
        x, r = x + alpha * p, r - alpha * ap
        rr_next = r @ r
        p, rr = r + (rr_next / rr) * p, rr_next
    raise ValueError(
        f"conjugate gradients did not converge in {limit} iterations (relative residual "
        f"{(rr.sqrt() / b.norm()).item():.3g}): add damping or raise max_iter"
    )


class HessianFreeSolver:
    """Influence without forming H: conjugate gradients on (H + damping I) v = g.

    Each Hessian-vector product is forward-over-reverse by default (``torch.func.jvp``
    of ``torch.func.grad``; ``objective`` must be a pure function ``torch.func`` can
    transform), or ``hvp="reverse-over-reverse"`` (double backward with
    ``torch.autograd``, often faster in eager PyTorch for small models). Either costs a
    few gradients; memory is O(d) plus what one gradient of the objective needs. For a
    non-convex model, pass ``damping`` > 0.

    Refuses what ``InfluenceSolver`` refuses for its arguments (a Hessian that is not
    positive definite shows up as curvature <= 0, or no convergence, in
    ``conjugate_gradient``), and what ``conjugate_gradient`` refuses.
    """

    def __init__(
        self,
        objective: Callable,
        theta_hat: torch.Tensor,
        *,
        damping: float = 0.0,
        grad_tol: float = 1e-6,
        tol: float = 1e-12,
        max_iter: int | None = None,
        hvp: str = "forward-over-reverse",
    ) -> None:
        self.objective, self.theta_hat = objective, _check_theta(theta_hat)
        if hvp not in ("forward-over-reverse", "reverse-over-reverse"):
            raise ValueError(
                f"hvp must be 'forward-over-reverse' or 'reverse-over-reverse', got {hvp!r}"
            )
        self.mode = hvp
        if not damping >= 0:
            raise ValueError(f"damping must be >= 0, got {damping}")
        grad_norm = _gradient(objective, self.theta_hat, "objective").norm().item()
        if grad_norm > grad_tol:
            raise ValueError(
                f"theta_hat is not a minimiser: the objective's gradient norm is {grad_norm:.3g} "
                f"> grad_tol={grad_tol:g}; minimise further (or raise grad_tol knowingly)"
            )
        self.damping, self.tol, self.max_iter, self.iterations = damping, tol, max_iter, 0
        self._grad = torch.func.grad(lambda t: objective(t).reshape(()))

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """(H + damping I) v."""
        if self.mode == "forward-over-reverse":
            _, hv = torch.func.jvp(self._grad, (self.theta_hat,), (v,))
        else:
            theta = self.theta_hat.clone().requires_grad_(True)
            value = self.objective(theta).reshape(())
            (grad,) = torch.autograd.grad(value, theta, create_graph=True)
            (hv,) = torch.autograd.grad(grad @ v, theta)
        return hv + self.damping * v

    def solve(self, g: torch.Tensor) -> torch.Tensor:
        """(H + damping I)^{-1} g by conjugate gradients."""
        if not g.any():
            return torch.zeros_like(g)
        x, self.iterations = conjugate_gradient(self.hvp, g, self.tol, self.max_iter)
        return x

    on_parameters = InfluenceSolver.on_parameters
    on_loss = InfluenceSolver.on_loss


# --8<-- [end:influence]


# %% tags=["solution"]
if __name__ == "__main__":
    rate = influence_on_parameters(
        lambda t: ((POINTS - t) ** 2 / 2).mean(),  # R, whose minimiser is the mean
        lambda t: ((Z - t) ** 2 / 2).sum(),  # L(z; theta)
        POINTS.mean().reshape(1),  # theta_hat
    )
    print(
        f"upweighting z = {Z.item():g}, the mean of {POINTS.tolist()} moves at rate "
        f"{rate.item():g}; z - mean = {(Z - POINTS.mean()).item():g}"
    )

# %% [markdown] tags=["solution"]
# ## Beyond the course
#
# The second derivative (the size of the first-order error), a logistic regression
# with leave-one-out retraining, a small MLP (where $H$ is not positive definite), and
# SymPy's closed form for the mean.


# %% tags=["solution"]
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
    solver: InfluenceSolver | None = None,
) -> torch.Tensor:
    """d^2 theta_hat(eps) / d eps^2 at eps = 0 (needs the losses to be C^3).

    Differentiating grad R(theta(eps)) + eps grad L(theta(eps)) = 0 twice gives
    H theta'' = -D^3 R[theta', theta'] - 2 (grad^2 L) theta'. ``first`` is theta'(0)
    if already computed by ``influence_on_parameters``, ``solver`` an ``InfluenceSolver``
    for the objective at ``theta_hat`` if one exists (then H is not formed again).
    Refuses what ``influence_on_parameters`` refuses.
    """
    theta_hat = _check_theta(theta_hat)
    if first is None:
        first = influence_on_parameters(objective, point_loss, theta_hat)
    rhs = _directional(objective, theta_hat, first, 3)
    rhs = rhs + 2 * _directional(point_loss, theta_hat, first, 2)
    if solver is not None:
        return -solver.solve(rhs)
    return -torch.linalg.solve(hessian(objective, theta_hat), rhs)


# --8<-- [end:second]


# --8<-- [start:logistic]
def logistic_losses(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example logistic loss log(1 + exp(-s z)), labels y in {0, 1}, s = 2y - 1.

    Refuses (``ValueError``) shapes other than x (n, d), y (n,), theta (d,).
    """
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
    """Minimise a smooth, strictly convex objective with Newton's method.

    Refuses what ``hessian`` refuses; raises ``RuntimeError`` after 100 steps without
    convergence.
    """
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
    solver = InfluenceSolver(objective, theta_hat)  # factorise H once, for all N points
    out: dict[str, list[float]] = {k: [] for k in ("first_order", "second_order", "refit",
                                                   "refit_mean")}  # fmt: skip
    for j in range(n):
        z = point_loss_fn(x[j], y[j])
        first = solver.on_parameters(z)
        slope = float(grad_test @ first)  # d/d eps of the test loss at 0: influence_on_loss
        curvature = float(  # d^2/d eps^2 of the test loss at 0, by the chain rule
            first @ _directional(test_loss, theta_hat, first, 2)
            + grad_test @ second_derivative(objective, z, theta_hat, first, solver)
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


# --8<-- [start:mlp]
def mlp(theta: torch.Tensor, x: torch.Tensor, widths: tuple[int, ...]) -> torch.Tensor:
    """A tanh MLP with layer sizes ``widths`` (the last is 1), its weights and biases
    flattened into ``theta``; returns one logit per row of ``x``."""
    h, start = x, 0
    for layer, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        w = theta[start : start + n_in * n_out].reshape(n_out, n_in)
        b = theta[start + n_in * n_out : start + n_in * n_out + n_out]
        start += n_in * n_out + n_out
        h = h @ w.T + b
        if layer < len(widths) - 2:
            h = torch.tanh(h)
    return h[:, 0]


def mlp_init(widths: tuple[int, ...], seed: int) -> torch.Tensor:
    """Seeded initial parameters: weights N(0, 1/fan_in), biases 0."""
    generator, parts = torch.Generator().manual_seed(seed), []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        weights = torch.randn(n_in * n_out, generator=generator, dtype=F64) / n_in**0.5
        parts += [weights, torch.zeros(n_out, dtype=F64)]
    return torch.cat(parts)


def make_mlp_data(n: int, d_in: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded synthetic labels from a nonlinear rule: P(y = 1) = sigmoid(2 sin(1.5 x0) + x1 x2)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d_in, generator=generator, dtype=F64)
    logit = 2 * torch.sin(1.5 * x[:, 0]) + x[:, 1] * x[:, 2]
    return x, (torch.rand(n, generator=generator, dtype=F64) < torch.sigmoid(logit)).to(F64)


def lbfgs(fn: Callable, theta0: torch.Tensor, steps: int, history: int = 20) -> torch.Tensor:
    """``steps`` iterations of L-BFGS with a backtracking (Armijo) line search; deterministic."""

    def value_and_grad(theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        theta = theta.clone().requires_grad_(True)
        value = fn(theta)
        (grad,) = torch.autograd.grad(value, theta)
        return value.item(), grad

    theta = theta0.detach().clone()
    value, grad = value_and_grad(theta)
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
    for _ in range(steps):
        q, alphas = grad.clone(), []
        for s, y in reversed(pairs):  # the two-loop recursion: q = H_k^{-1} grad
            alphas.append((s @ q) / (y @ s))
            q -= alphas[-1] * y
        if pairs:
            q *= (pairs[-1][0] @ pairs[-1][1]) / (pairs[-1][1] @ pairs[-1][1])
        for (s, y), alpha in zip(pairs, reversed(alphas), strict=True):
            q += (alpha - (y @ q) / (y @ s)) * s
        direction, step = -q, 1.0 if pairs else 1.0 / max(1.0, grad.norm().item())
        slope = (grad @ direction).item()
        while True:
            new = theta + step * direction
            new_value, new_grad = value_and_grad(new)
            if new_value <= value + 1e-4 * step * slope or step < 1e-10:
                break
            step /= 2
        s, y = new - theta, new_grad - grad
        if s @ y > 1e-12 * (s @ s):
            pairs = (pairs + [(s, y)])[-history:]
        theta, value, grad = new, new_value, new_grad
    return theta


def mlp_experiment(
    widths: tuple[int, ...] = (4, 100, 96, 1),
    n: int = 60,
    l2: float = 1e-2,
    steps: int = 60,
    dampings: tuple[float, ...] = (0.0, 0.1, 1.0),
    removed: int = 4,
    seed: int = 0,
) -> dict:
    """Influence on a small MLP, against retraining, for the ``removed`` points whose
    predicted effect on a test loss is largest.

    Trains ``steps`` L-BFGS iterations from a seeded initialisation to get theta_hat;
    predicts the change of the test loss when point j is left out, -(1/n) I_up,loss,
    Hessian-free with each damping; then measures it twice: retrained from theta_hat
    (``steps // 3`` iterations, towards the nearby minimum the formula describes,
    against the same iterations with every point), and retrained from the same
    initialisation with the same ``steps``. Runs on one thread (small tensors;
    deterministic).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x, y = make_mlp_data(n + 1, widths[0], seed + 1)
        (x, x_test), (y, y_test) = (x[:n], x[n:]), (y[:n], y[n:])

        def objective(theta: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
            losses = torch.nn.functional.softplus(-(2 * y - 1) * mlp(theta, x, widths))
            losses = losses if keep is None else losses * keep
            return losses.sum() / n + 0.5 * l2 * theta @ theta

        def test_loss(theta: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.softplus(-(2 * y_test - 1) * mlp(theta, x_test, widths))[0]

        theta0 = mlp_init(widths, seed)
        theta_hat = lbfgs(objective, theta0, steps)
        base = test_loss(theta_hat).item()
        grad_test = _gradient(test_loss, theta_hat, "test_loss")
        point_grads = torch.stack(
            [_gradient(lambda t, j=j: objective(t, torch.arange(n) == j) * n, theta_hat, "L")
             for j in range(n)]
        )  # fmt: skip
        predictions, iterations = {}, {}
        for damping in dampings:
            solver = HessianFreeSolver(
                objective,
                theta_hat,
                damping=damping,
                grad_tol=float("inf"),
                tol=1e-8,
                hvp="reverse-over-reverse",
            )
            try:  # -(1/n) I_up,loss(z_j) = (1/n) grad L_j . (H + damping I)^{-1} grad L_test
                s_test = solver.solve(grad_test)
            except ValueError as error:
                predictions[damping], iterations[damping] = None, str(error).split(":")[0]
                continue
            predictions[damping] = (point_grads @ s_test / n).tolist()
            iterations[damping] = solver.iterations
        chosen = max((p for p in predictions.values() if p is not None), key=len)
        points = sorted(range(n), key=lambda j: -abs(chosen[j]))[:removed]
        warm, cold = [], []
        base_warm = test_loss(lbfgs(objective, theta_hat, steps // 3)).item()
        for j in points:
            keep = (torch.arange(n) != j).to(F64)
            refit = lbfgs(lambda t, keep=keep: objective(t, keep), theta_hat, steps // 3)
            warm.append(test_loss(refit).item() - base_warm)
            refit = lbfgs(lambda t, keep=keep: objective(t, keep), theta0, steps)
            cold.append(test_loss(refit).item() - base)
        grad_norm = _gradient(objective, theta_hat, "objective").norm().item()
    finally:
        torch.set_num_threads(threads)
    return {
        "d": theta0.numel(), "n": n, "grad_norm": grad_norm, "points": points,
        "predictions": {d: None if p is None else [p[j] for j in points]
                        for d, p in predictions.items()},
        "iterations": iterations, "warm": warm, "cold": cold,
    }  # fmt: skip


def mlp_check(run: dict) -> dict:
    """Check what the page says about ``mlp_experiment``'s result; return the summary.

    Raises AssertionError unless: the undamped solve is refused (H is indefinite);
    theta_hat is not a minimiser; every damped solve converged in at most 100
    iterations; larger damping gives smaller predictions; at least 3 of 4 predicted
    signs agree with the retraining from theta_hat; the point predicted to matter most
    changes the test loss most; and the ratio of retrained to predicted change varies
    by a factor of at least 3 over the points (the sizes are unreliable).
    """
    damped = [d for d, p in run["predictions"].items() if p is not None]
    assert run["predictions"][0.0] is None, "the undamped Hessian-free solve was not refused"
    assert run["grad_norm"] > 1e-6, "theta_hat is a minimiser: the page says it is not"
    assert all(run["iterations"][d] <= 100 for d in damped), run["iterations"]
    for low, high in zip(damped[:-1], damped[1:], strict=True):
        pairs = zip(run["predictions"][low], run["predictions"][high], strict=True)
        assert all(abs(b) < abs(a) for a, b in pairs), "more damping did not shrink"
    first = run["predictions"][damped[0]]
    warm_signs = sum(p * a > 0 for p, a in zip(first, run["warm"], strict=True))
    cold_signs = sum(p * a > 0 for p, a in zip(first, run["cold"], strict=True))
    assert warm_signs >= 0.75 * len(first), f"only {warm_signs} signs agree"
    assert max(range(len(first)), key=lambda k: abs(run["warm"][k])) == 0, "not the top point"
    ratios = [a / p for p, a in zip(first, run["warm"], strict=True) if p * a > 0]
    assert max(ratios) >= 3 * min(ratios), f"retrained / predicted is {ratios}: too steady"
    return {"warm_signs": warm_signs, "cold_signs": cold_signs,
            "low": min(ratios), "high": max(ratios)}  # fmt: skip


# --8<-- [end:mlp]


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


# %% [markdown] tags=["solution"]
# ## The first-order prediction on a logistic regression

# %% tags=["solution"]
# --8<-- [start:data]
L2 = 0.01  # strength of the L2 regulariser
X, Y = make_data()
X_TEST, Y_TEST = torch.tensor([0.8, -0.4, 1.0], dtype=F64), torch.tensor(1.0, dtype=F64)
EPSILONS = [10.0**k for k in (-2, -2.5, -3, -3.5, -4, -4.5, -5)]
# Leave-one-out, (slope tolerance, relative-error tolerance). The first-order prediction
# misses a term of order 1/N^2, a few per cent here; with that term the rest is ~1/N^3.
LOO_TOLERANCE = {"first_order": (0.1, 0.1), "second_order": (0.006, 0.015)}
# --8<-- [end:data]

# %% tags=["solution"]
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
