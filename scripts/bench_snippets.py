"""Speed of the snippet functions, each beside a reference in the same run: `make bench-snippets`.

Prints a table and writes bench-snippets.json (gitignored). Median of BENCH_REPS runs
(default 5) unless a row says otherwise. "before" is the snippet as it was before issue 14
(commit BASE, read with `git show`), run once because it is slow; it is left out when git
or the commit is missing.

  conv2d        512² and 1024² input, 3×3 kernel, float64: conv2d against
                torch.nn.functional.conv2d (float64, CPU, torch's default threads)
  mle           exponential_mle on 10⁷ float64 points against a bare N / x.sum()
  query         one influence query (build the solver, one solve) on an L2-regularised
                logistic regression with d = 10³, 10⁴, 10⁵ parameters and 100 points: time
                and peak memory above the process's memory before the query (VmHWM, reset
                through /proc/self/clear_refs; each in its own process). Dense only at d = 10³
                (H alone would need 0.8 GB at 10⁴ and 80 GB at 10⁵).
  leave-one-out the change of a test point's loss for each of 1,000 training points left
                out, d = 1,000: dense-factorised (one Cholesky, 1,000 solves) against
                Hessian-free (one conjugate-gradient solve per point, measured on 50 points
                and scaled to 1,000) and Hessian-free with the test gradient solved once
                (s_test = H⁻¹ ∇L_test, then one dot product per point).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
REPS = int(os.environ.get("BENCH_REPS", "5"))
BASE = "2b19932"  # the last commit before issue 14's changes to the snippets


def load(name: str) -> types.ModuleType:
    """snippets/<name>.py as it is now."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "snippets" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_before(name: str) -> types.ModuleType | None:
    """snippets/<name>.py at BASE, or None without git or that commit."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BASE}:snippets/{name}.py"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType(f"before_{name}")
    module.__file__ = f"{BASE}:snippets/{name}.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module


def timed(fn, reps: int = REPS) -> float:
    """Median wall time of ``reps`` calls, in seconds."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_conv2d() -> list[dict]:
    import numpy as np
    import torch
    import torch.nn.functional as F

    conv, before = load("conv2d"), load_before("conv2d")
    rows = []
    for n in (512, 1024):
        rng = np.random.default_rng(n)
        x, k = rng.standard_normal((n, n)), rng.standard_normal((3, 3))
        xt, kt = torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None]
        assert np.allclose(conv.conv2d(x, k), F.conv2d(xt, kt)[0, 0].numpy(), atol=1e-12)
        rows.append({
            "figure": f"conv2d {n}×{n}, 3×3, float64",
            "before": timed(lambda x=x, k=k: before.conv2d(x, k), 1) if before else None,
            "after": timed(lambda x=x, k=k: conv.conv2d(x, k)),
            "reference": timed(lambda xt=xt, kt=kt: F.conv2d(xt, kt)),
            "reference_name": "F.conv2d",
            "goal": 2.0,
        })  # fmt: skip
    return rows


def bench_mle() -> list[dict]:
    import numpy as np

    mle, before = load("mle_exponential"), load_before("mle_exponential")
    x = np.random.default_rng(0).exponential(scale=0.4, size=10_000_000)
    assert abs(mle.exponential_mle(x) - x.size / x.sum()) < 1e-12
    return [{
        "figure": "exponential_mle, 10⁷ float64 points",
        "before": timed(lambda: before.exponential_mle(x)) if before else None,
        "after": timed(lambda: mle.exponential_mle(x)),
        "reference": timed(lambda: x.size / x.sum()),
        "reference_name": "N / x.sum()",
        "goal": 1.5,
    }]  # fmt: skip


def _rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def query(d: int, method: str) -> dict:
    """In this process: one influence query at d parameters; time and peak memory.

    A warm-up query at d = 100 pays the first-call costs (imports); then the peak
    resident memory is reset and the query at d runs: its peak above the memory before
    it is the figure, and its time the median over max(1, BENCH_REPS // 2) runs.
    """
    import torch

    inf = load("influence_functions")
    old = load_before("influence_functions") if method == "before" else None
    f64 = torch.float64

    def problem(size: int) -> tuple:
        generator = torch.Generator().manual_seed(size)
        x = torch.randn(100, size, generator=generator, dtype=f64) / size**0.5
        y = (torch.rand(100, generator=generator, dtype=f64) < torch.sigmoid(3 * x[:, 0])).to(f64)
        # the cost of a query does not depend on theta: zeros, not the fit
        return (
            inf.objective_fn(x, y, 1e-2),
            inf.point_loss_fn(x[0], y[0]),
            torch.zeros(size, dtype=f64),
        )

    out: dict = {"d": d, "method": method}

    def run(objective, point, theta) -> None:
        if method == "before":
            old.influence_on_parameters(objective, point, theta)
        elif method == "dense":
            inf.InfluenceSolver(objective, theta, grad_tol=float("inf")).on_parameters(point)
        else:
            solver = inf.HessianFreeSolver(
                objective, theta, grad_tol=float("inf"), tol=1e-10, hvp=method
            )
            solver.on_parameters(point)
            out["iterations"] = solver.iterations

    run(*problem(100))  # warm-up: imports, first-call costs (d > 64: the vectorised Hessian)
    args = problem(d)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
        start_mib = _rss_mib("VmRSS")
        first = timed(lambda: run(*args), 1)
        out["peak_mib"] = _rss_mib("VmHWM") - start_mib
    except OSError:
        first, out["peak_mib"] = timed(lambda: run(*args), 1), None
    more = [] if method == "before" else [timed(lambda: run(*args), 1) for _ in range(REPS // 2)]
    out["seconds"] = statistics.median([first, *more])
    return out


def bench_queries() -> list[dict]:
    plan = [(1_000, "before"), (1_000, "dense")]
    for d in (1_000, 10_000, 100_000):
        plan += [(d, "forward-over-reverse"), (d, "reverse-over-reverse")]
    rows = []
    for d, method in plan:
        if method == "before" and load_before("influence_functions") is None:
            continue
        result = subprocess.run(
            [PY, __file__, "--query", str(d), method], capture_output=True, text=True, cwd=ROOT
        )
        if result.returncode != 0:
            sys.exit(f"query d={d} {method} failed:\n{result.stderr[-3000:]}")
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return rows


def bench_leave_one_out() -> list[dict]:
    import torch

    inf, before = load("influence_functions"), load_before("influence_functions")
    n, d, f64 = 1_000, 1_000, torch.float64
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(n, d, generator=generator, dtype=f64) / d**0.5
    y = (torch.rand(n, generator=generator, dtype=f64) < torch.sigmoid(3 * x[:, 0])).to(f64)
    x_test, y_test = x[0] + 0.1, y[0]
    objective = inf.objective_fn(x, y, 1e-2)
    theta_hat = inf.newton_minimise(objective, torch.zeros(d, dtype=f64))
    test = inf.point_loss_fn(x_test, y_test)
    g_test = inf._gradient(test, theta_hat, "test_loss")
    points = [inf.point_loss_fn(x[j], y[j]) for j in range(n)]
    results: dict[str, torch.Tensor] = {}

    def dense() -> None:
        solver = inf.InfluenceSolver(objective, theta_hat)
        results["dense"] = torch.stack([g_test @ solver.on_parameters(p) for p in points]) / n

    def hessian_free(count: int, mode: str) -> None:
        solver = inf.HessianFreeSolver(objective, theta_hat, tol=1e-10, hvp=mode)
        results[mode] = torch.stack([g_test @ solver.on_parameters(p) for p in points[:count]]) / n

    def s_test() -> None:
        s = inf.HessianFreeSolver(objective, theta_hat, tol=1e-10).solve(g_test)
        grads = torch.stack([inf._gradient(p, theta_hat, "point_loss") for p in points])
        results["s_test"] = -(grads @ s) / n

    sample = 50
    rows = [
        {"figure": "dense: factorise once, 1,000 solves", "seconds": timed(dense, 3)},
        *({"figure": f"Hessian-free, {mode}, one CG solve per point ({sample} measured, "
           f"×{n // sample})",
           "seconds": timed(lambda m=mode: hessian_free(sample, m), 1) * n / sample}
          for mode in ("forward-over-reverse", "reverse-over-reverse")),
        {"figure": "Hessian-free, s_test solved once, 1,000 dot products",
         "seconds": timed(s_test, 3)},
    ]  # fmt: skip
    if before is not None:
        one = timed(lambda: before.influence_on_parameters(objective, points[0], theta_hat), 1)
        rows.insert(0, {"figure": "before: H rebuilt per point (1 measured, ×1,000)",
                        "seconds": one * n})  # fmt: skip
    agree = max(
        (results[m] - results["dense"][:sample]).abs().max() / results["dense"].abs().max()
        for m in ("forward-over-reverse", "reverse-over-reverse")
    )
    agree_s = (results["s_test"] - results["dense"]).abs().max() / results["dense"].abs().max()
    assert agree < 1e-8 and agree_s < 1e-8, (agree, agree_s)
    rows.append({"figure": "largest difference from dense, relative",
                 "seconds": None, "note": f"{max(agree, agree_s).item():.1e}"})  # fmt: skip
    return rows


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    import torch

    load_avg = os.getloadavg()[0]
    print(f"load average {load_avg:.1f} on {os.cpu_count()} cores; torch threads "
          f"{torch.get_num_threads()}; median of {REPS} unless noted\n")  # fmt: skip
    speed = bench_conv2d() + bench_mle()
    print("| figure | before | now | reference | now / reference | goal |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in speed:
        row["ratio"] = row["after"] / row["reference"]
        print(f"| {row['figure']} | {fmt(row['before'])} | {fmt(row['after'])} "
              f"| {fmt(row['reference'])} ({row['reference_name']}) | {row['ratio']:.2f} "
              f"| ≤ {row['goal']} |")  # fmt: skip
    queries = bench_queries()
    print("\n| influence query | d | time | peak memory above start | CG iterations |")
    print("|---|---:|---:|---:|---:|")
    for row in queries:
        peak = "—" if row["peak_mib"] is None else f"{row['peak_mib']:.0f} MiB"
        print(f"| {row['method']} | {row['d']:,} | {fmt(row['seconds'])} | {peak} "
              f"| {row.get('iterations', '—')} |")  # fmt: skip
    loo = bench_leave_one_out()
    print("\n| leave-one-out, 1,000 points, d = 1,000 | time |")
    print("|---|---:|")
    for row in loo:
        print(f"| {row['figure']} | {row.get('note') or fmt(row['seconds'])} |")
    figures = {"load_average": load_avg, "speed": speed, "queries": queries, "leave_one_out": loo}
    (ROOT / "bench-snippets.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--query":
        print(json.dumps(query(int(sys.argv[2]), sys.argv[3])))
    else:
        main()
