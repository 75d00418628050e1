"""blackjax MALA and HMC on the targets of `benches/benches/mcmc_ess.rs`, for comparison.

Same set-up as the Rust measurement: 1,024 chains (``jax.vmap`` over chains), d = 100, targets
``gauss100`` (standard normal) and ``illcond100`` (diagonal Gaussian, variances log-spaced from
0.1 to 10), HMC with L = 10 leapfrog steps and identity mass, chains started at standard-normal
draws. The step sizes are fixed to the values our dual averaging chose (printed by
``cargo bench -p ebm-benches --bench mcmc_ess``; override with ``--step KERNEL_TARGET=H``), so the
two implementations run the same Markov chain up to random numbers and float rounding: 500
burn-in steps at that step size (no adaptation here), then 1,000 draws. blackjax's MALA has the
same convention as ours (``x + h grad log p + sqrt(2h) z``).

Timing: each ``lax.scan`` over steps is compiled ahead of time (``jit(...).lower(...).compile()``)
so compilation is excluded; the sampling phase (storing every draw) is timed with
``block_until_ready``. ESS is the rank-normalised split-chain bulk ESS (Vehtari et al. 2021) and
R-hat the rank-normalised split R-hat (max of bulk and folded), both computed in numpy/scipy
below exactly as ``ebm_mcmc::diagnostics`` does (``ess_bulk``, ``ess_basic``, ``split_rhat``):
blackjax's own ``blackjax.diagnostics.ess_bulk`` gives the same definition (``--ess blackjax``)
but took about 5 minutes per case at 1,024 x 1,000 x 100 on this 2-core machine. ESS/grad
divides the minimum bulk ESS by the gradient evaluations of the sampling phase (chains x draws
for MALA, x L for HMC).

Usage (CPU only)::

    benches/blackjax/setup.sh            # python -m venv /tmp/bjx; pip install jax blackjax scipy
    /tmp/bjx/bin/python benches/blackjax/compare.py

NUTS suite (``--suite nuts``): our ``ebm sample-target --sampler nuts --adapt diag|dense`` (run
from this script, its draws read back and diagnosed here with the same numpy code) against
blackjax's ``nuts`` after ``window_adaptation``, vmapped over chains (blackjax adapts every chain
on its own: its own step size and mass; ours pools the warm-up draws of all chains into one mass
and one step size, or with ``--per-chain`` adapts each chain on its own too), both starting the
adaptation at step size 1 (blackjax's ``initial_step_size`` default), on ``illcond:d=100``,
``funnel:d=10`` (centred, both sides), ``banana`` and ``logreg`` (the thyroid table,
standardised, prior N(0, 2.5^2 I)), same chains, warm-up and draws; compilation and warm-up excluded from the time on both sides. ESS/grad divides the min
bulk ESS by the leapfrog steps of the sampling phase summed over chains (each chain's own tree:
the ``num_integration_steps`` of blackjax, the ``leapfrog / step`` of ours)::

    /tmp/bjx/bin/python benches/blackjax/compare.py --suite nuts --chains 64 --warmup 1000 \
        --draws 1000 --ebm target/release/ebm [--per-chain] [--seeds 1 2 3 ...]

With ``--seeds`` every target runs once per seed on both sides and a summary gives the mean and
sd over seeds of ESS/s and ESS/grad and their ratio, ours over blackjax: min bulk ESS on the
banana and the funnel varies by a factor of 3 from seed to seed, so one seed cannot compare them.
"""

import argparse
import os
import subprocess
import time
from functools import partial

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import blackjax  # noqa: E402
from blackjax.diagnostics import ess_bulk, rhat  # noqa: E402
from scipy.special import ndtri  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

D = 100
LEAPFROG = 10

# Step sizes adapted by our dual averaging (`cargo bench -p ebm-benches --bench mcmc_ess`, seed 1,
# deterministic), see BENCHMARKS.md.
DEFAULT_STEPS = {
    "mala_gauss100": 0.29461,
    "hmc_gauss100": 0.72796,
    "mala_illcond100": 0.07057,
    "hmc_illcond100": 0.38052,
}


def _split(x):
    """[chains, draws] -> [2 chains, draws // 2] (the middle draw of an odd chain dropped)."""
    n = x.shape[1]
    half = n // 2
    return np.concatenate([x[:, :half], x[:, n - half :]], axis=0)


def _rank_normalise(x):
    """Pooled average ranks r -> Phi^{-1}((r - 3/8) / (S + 1/4)), shape kept."""
    r = rankdata(x.reshape(-1)).reshape(x.shape)
    return ndtri((r - 0.375) / (x.size + 0.25))


def _rhat_basic(x):
    m, n = x.shape
    means = x.mean(axis=1)
    w = x.var(axis=1, ddof=1).mean()
    b = n * means.var(ddof=1)
    return np.sqrt(((n - 1) / n * w + b / n) / w)


def _ess_basic(x):
    """Stan's ESS of the mean of m chains (Geyer's initial positive, monotone sequence), as
    ebm_mcmc::diagnostics::ess_basic, with FFT autocovariances."""
    m, n = x.shape
    centred = x - x.mean(axis=1, keepdims=True)
    f = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=2 * n, axis=1)[:, :n] / n
    mean_acov = acov.mean(axis=0)
    mean_var = mean_acov[0] * n / (n - 1)
    var_plus = mean_var * (n - 1) / n
    if m > 1:
        var_plus += x.mean(axis=1).var(ddof=1)
    rho = 1.0 - (mean_var - mean_acov) / var_plus
    rho_hat = np.zeros(n)
    rho_hat[0] = 1.0
    rho_even, rho_odd = 1.0, rho[1]
    rho_hat[1] = rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even, rho_odd = rho[t + 1], rho[t + 2]
        if rho_even + rho_odd >= 0.0:
            rho_hat[t + 1], rho_hat[t + 2] = rho_even, rho_odd
        t += 2
    total = m * n
    floor = 1.0 / np.log10(total)
    if t == 1:
        return total / floor
    max_t = t - 2
    if rho_even > 0.0:
        rho_hat[max_t + 1] = rho_even
    t = 1
    while t + 2 <= max_t:
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t]:
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0
            rho_hat[t + 2] = rho_hat[t + 1]
        t += 2
    tau = -1.0 + 2.0 * rho_hat[: max_t + 1].sum() + rho_hat[max_t + 1]
    return total / max(tau, floor)


def diagnostics_numpy(x):
    """Bulk ESS and split R-hat per coordinate of x [chains, draws, D]."""
    ess, rh = [], []
    for j in range(x.shape[2]):
        split = _split(x[:, :, j].astype(np.float64))
        ess.append(_ess_basic(_rank_normalise(split)))
        folded = np.abs(split - np.median(split))
        rh.append(max(_rhat_basic(_rank_normalise(split)), _rhat_basic(_rank_normalise(folded))))
    return np.array(ess), np.array(rh)


def diagnostics_blackjax(x):
    x = jnp.asarray(x)
    ess = np.asarray(jax.jit(jax.vmap(ess_bulk, in_axes=2))(x))
    rh = np.asarray(jax.jit(jax.vmap(rhat, in_axes=2))(x))
    return ess, rh


def targets():
    t = np.arange(D) / (D - 1)
    var = np.exp(np.log(0.1) + t * (np.log(10.0) - np.log(0.1)))
    inv_var = jnp.asarray(1.0 / var, dtype=jnp.float32)
    return {
        "gauss100": lambda x: -0.5 * jnp.sum(x * x),
        "illcond100": lambda x: -0.5 * jnp.sum(x * x * inv_var),
    }


def sampler(kernel, logdensity, step_size):
    if kernel == "mala":
        return blackjax.mala(logdensity, step_size), 1
    return (
        blackjax.hmc(logdensity, step_size, jnp.ones(D, dtype=jnp.float32), LEAPFROG),
        LEAPFROG,
    )


def case(kernel, target, logdensity, step_size, chains, warmup, draws, seed, diagnostics):
    alg, grads_per_step = sampler(kernel, logdensity, step_size)
    key = jax.random.key(seed)
    k_init, k_warm, k_draw = jax.random.split(key, 3)
    states = jax.vmap(alg.init)(jax.random.normal(k_init, (chains, D), dtype=jnp.float32))

    def one_step(states, key):
        keys = jax.random.split(key, chains)
        states, infos = jax.vmap(alg.step)(keys, states)
        return states, infos.acceptance_rate

    def burn(states, key):
        states, acc = jax.lax.scan(one_step, states, jax.random.split(key, warmup))
        return states, acc.mean()

    def sample(states, key):
        def keep(states, key):
            states, acc = one_step(states, key)
            return states, (states.position, acc)

        return jax.lax.scan(keep, states, jax.random.split(key, draws))

    burn_c = jax.jit(burn).lower(states, k_warm).compile()
    states, _ = jax.block_until_ready(burn_c(states, k_warm))
    sample_c = jax.jit(sample).lower(states, k_draw).compile()
    t0 = time.perf_counter()
    states, (positions, acc) = jax.block_until_ready(sample_c(states, k_draw))
    seconds = time.perf_counter() - t0
    # positions: [draws, chains, D] -> [chains, draws, D]
    x = np.swapaxes(np.asarray(positions), 0, 1)
    ess, rh = diagnostics(x)
    grads = chains * draws * grads_per_step
    print(
        f"{kernel:<5} {target:<11} step {step_size:>8.5f} acc {float(acc.mean()):.3f} "
        f"ess_min {ess.min():>9.0f} ess_med {np.median(ess):>9.0f} rhat_max {rh.max():.4f} "
        f"time {seconds:>7.2f} s steps/s {draws / seconds:>8.1f} "
        f"ESS/s {ess.min() / seconds:>9.1f} ESS/grad {ess.min() / grads:.2e}",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# NUTS with windowed adaptation: ours (`ebm sample-target --sampler nuts --adapt diag`, run from
# here) against blackjax's NUTS with `window_adaptation`, in the same sitting.

LOGREG_PRIOR_SD = 2.5
BANANA_B = 0.1


def logreg_data(path):
    z = np.load(path)
    x = np.asarray(z["X"], dtype=np.float64)
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    design = np.concatenate([np.ones((x.shape[0], 1)), x], axis=1)
    return jnp.asarray(design, dtype=jnp.float32), jnp.asarray(z["y"], dtype=jnp.float32)


def nuts_targets(data_path):
    """The log densities of `ebm sample-target`'s targets (same formulas, float32)."""
    t = np.arange(100) / 99
    inv_var = jnp.asarray(1.0 / np.exp(np.log(0.1) + t * np.log(100.0)), dtype=jnp.float32)
    design, y = logreg_data(data_path)

    def funnel(x):  # Neal's funnel, centred: v = x0 ~ N(0, 9), x_i | v ~ N(0, e^v)
        v, rest = x[0], x[1:]
        return -(v * v) / 18.0 - 0.5 * jnp.exp(-v) * jnp.sum(rest * rest) - 0.5 * (x.shape[0] - 1) * v

    def banana(x):  # Haario's twisted Gaussian, b = 0.1
        u2 = x[1] + BANANA_B * x[0] ** 2 - 100.0 * BANANA_B
        return -(x[0] ** 2) / 200.0 - 0.5 * u2 * u2 - 0.5 * jnp.sum(x[2:] ** 2)

    def logreg(theta):  # standardised features, prior N(0, 2.5^2 I)
        z = design @ theta
        return jnp.sum(y * z - jax.nn.softplus(z)) - jnp.sum(theta**2) / (2 * LOGREG_PRIOR_SD**2)

    return {
        "illcond:d=100": (lambda x: -0.5 * jnp.sum(x * x * inv_var), 100),
        "funnel:d=10": (funnel, 10),
        "banana": (banana, 2),
        "logreg": (logreg, design.shape[1]),
    }


def blackjax_nuts(name, logdensity, d, args, seed):
    key = jax.random.key(seed)
    k_init, k_warm, k_draw = jax.random.split(key, 3)
    x0 = jax.random.normal(k_init, (args.chains, d), dtype=jnp.float32)
    diag = args.adapt == "diag"

    def adapt_one(key, x):
        warm = blackjax.window_adaptation(blackjax.nuts, logdensity, is_mass_matrix_diagonal=diag)
        (state, params), _ = warm.run(key, x, num_steps=args.warmup)
        return state, params

    adapt = jax.jit(jax.vmap(adapt_one)).lower(jax.random.split(k_warm, args.chains), x0).compile()
    states, params = jax.block_until_ready(adapt(jax.random.split(k_warm, args.chains), x0))

    def one(state, key, step_size, imm):
        return blackjax.nuts(logdensity, step_size, imm).step(key, state)

    def sample(states, params, key):
        def body(states, key):
            keys = jax.random.split(key, args.chains)
            states, info = jax.vmap(one)(
                states, keys, params["step_size"], params["inverse_mass_matrix"]
            )
            return states, (states.position, info.num_integration_steps, info.is_divergent,
                            info.acceptance_rate)

        return jax.lax.scan(body, states, jax.random.split(key, args.draws))

    sample_c = jax.jit(sample).lower(states, params, k_draw).compile()
    t0 = time.perf_counter()
    _, (pos, steps, div, acc) = jax.block_until_ready(sample_c(states, params, k_draw))
    seconds = time.perf_counter() - t0
    x = np.swapaxes(np.asarray(pos), 0, 1)
    return report(name, "blackjax", x, float(np.asarray(steps, dtype=np.float64).sum()), seconds,
                  int(np.asarray(div).sum()), float(np.asarray(acc).mean()),
                  float(np.mean(np.asarray(params["step_size"]))))


def ours_nuts(name, args, seed):
    out = f"/tmp/ebm-nuts-{name.replace(':', '_').replace('=', '')}.npy"
    cmd = [args.ebm, "sample-target", "--target", name, "--sampler", "nuts", "--adapt", args.adapt,
           "--chains", str(args.chains), "--warmup", str(args.warmup), "--draws", str(args.draws),
           "--seed", str(seed), "--step-size", "1", "--out", out]
    cmd += ["--per-chain"] if args.per_chain else []
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    field = {line[:17].strip(): line[17:].strip() for line in text.splitlines()}
    seconds = float(field["sampling time"].split()[0])
    steps = float(field["leapfrog / step"]) * args.chains * args.draws
    div = int(field["divergences"].split()[0])
    row = report(name, "ours", np.load(out), steps, seconds, div,
                 float(field["acceptance (mean)"]), float(field["step size"]))
    print("  ours: " + " ".join(cmd), flush=True)
    return row


def report(name, impl, x, grads, seconds, divergences, acc, step):
    ess, rh = diagnostics_numpy(x)
    print(
        f"{name:<14} {impl:<8} step {step:.4f} acc {acc:.3f} div {divergences:>5} "
        f"grads/draw {grads / (x.shape[0] * x.shape[1]):6.1f} ess_min {ess.min():>9.0f} "
        f"rhat_max {rh.max():.4f} time {seconds:>7.2f} s ESS/s {ess.min() / seconds:>9.1f} "
        f"ESS/grad {ess.min() / grads:.3e}",
        flush=True,
    )
    return {"ess_s": ess.min() / seconds, "ess_grad": ess.min() / grads, "rhat": rh.max()}


def summarise(name, rows):
    """Mean ± sd over seeds of ESS/s and ESS/grad per implementation, and ours / blackjax."""
    def stat(impl, key):
        v = np.array([r[key] for r in rows[impl]])
        return v.mean(), (v.std(ddof=1) if len(v) > 1 else 0.0)

    for impl in rows:
        (s, ss), (g, gs) = stat(impl, "ess_s"), stat(impl, "ess_grad")
        print(f"{name:<14} {impl:<8} over {len(rows[impl])} seeds: ESS/s {s:9.1f} ± {ss:7.1f}  "
              f"ESS/grad {g:.3e} ± {gs:.1e}", flush=True)
    ratio = {k: stat("ours", k)[0] / stat("blackjax", k)[0] for k in ("ess_s", "ess_grad")}
    print(f"{name:<14} ours / blackjax: ESS/s {ratio['ess_s']:.2f}x  "
          f"ESS/grad {ratio['ess_grad']:.2f}x", flush=True)


def nuts_suite(args):
    print(f"jax {jax.__version__} blackjax {blackjax.__version__} devices {jax.devices()} "
          f"chains {args.chains} warm-up {args.warmup} draws {args.draws} adapt {args.adapt} "
          f"per-chain {args.per_chain}",
          flush=True)
    for name, (logdensity, d) in nuts_targets(args.data).items():
        if args.targets and name not in args.targets:
            continue
        rows = {"ours": [], "blackjax": []}
        for seed in args.seeds or [args.seed]:
            rows["ours"].append(ours_nuts(name, args, seed))
            rows["blackjax"].append(blackjax_nuts(name, logdensity, d, args, seed))
        summarise(name, rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--suite", choices=["fixed", "nuts"], default="fixed",
                   help="fixed: MALA/HMC at fixed step sizes; nuts: NUTS with windowed adaptation")
    p.add_argument("--ebm", default="target/release/ebm", help="our binary (nuts suite)")
    p.add_argument("--adapt", choices=["diag", "dense"], default="diag")
    p.add_argument("--per-chain", action="store_true",
                   help="ours adapts a step size and diagonal mass per chain, as blackjax does")
    p.add_argument("--data", default="datasets/adbench/38_thyroid.npz")
    p.add_argument("--targets", nargs="*", default=[])
    p.add_argument("--chains", type=int, default=1024)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seeds", type=int, nargs="*", default=[],
                   help="nuts suite: run every target with each seed and summarise over them")
    p.add_argument("--ess", choices=["numpy", "blackjax"], default="numpy")
    p.add_argument("--kernels", nargs="*", choices=["mala", "hmc"], default=["mala", "hmc"],
                   help="fixed suite: the kernels to run")
    p.add_argument("--fixed-targets", nargs="*", choices=["gauss100", "illcond100"],
                   default=["gauss100", "illcond100"], help="fixed suite: the targets to run")
    p.add_argument(
        "--step",
        action="append",
        default=[],
        metavar="KERNEL_TARGET=H",
        help="step size, e.g. mala_gauss100=0.52 (repeatable)",
    )
    args = p.parse_args()
    if args.suite == "nuts":
        nuts_suite(args)
        return
    steps = dict(DEFAULT_STEPS)
    for s in args.step:
        name, value = s.split("=")
        if name not in steps:
            p.error(f"unknown case {name}; expected one of {', '.join(steps)}")
        steps[name] = float(value)
    missing = [k for k, v in steps.items() if v is None]
    if missing:
        p.error(f"no step size for {', '.join(missing)}")
    print(
        f"jax {jax.__version__} blackjax {blackjax.__version__} devices {jax.devices()} "
        f"chains {args.chains} d {D} warm-up {args.warmup} draws {args.draws} HMC L = {LEAPFROG}",
        flush=True,
    )
    for target, logdensity in targets().items():
        if target not in args.fixed_targets:
            continue
        for kernel in args.kernels:
            case(
                kernel,
                target,
                logdensity,
                steps[f"{kernel}_{target}"],
                args.chains,
                args.warmup,
                args.draws,
                args.seed,
                diagnostics_numpy if args.ess == "numpy" else diagnostics_blackjax,
            )


if __name__ == "__main__":
    main()
