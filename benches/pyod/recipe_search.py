"""The recipe search of the tabular anomaly detector, on validation splits only (a prototype).

A throw-away JAX re-implementation of the candidates of BENCHMARKS.md ("How the recipe was
chosen"): robust standardisation, the marginal KDE (`Marg`), NCE against a Gaussian (`nce`) or
against the KDE's draws (`nce_m`, the shipped design), the Gaussian copula (`copula`), CD-k with
Langevin (`cd`), ECOD's tail energy (`tail`) and pyod's peers. With VAL=1 every seed's training part (a stratified
70/30 split by scikit-learn, seeds 0-2) is split again 70/30 and AUROC is taken on that validation part; the test
parts are never scored. Candidates are `name:key=value,...`, e.g.

    /tmp/pyod/bin/pip install jax optax scipy
    VAL=1 PEERS=1 /tmp/pyod/bin/python benches/pyod/recipe_search.py marg: ncem:mix=0.3 cop:mix=0.3
    /tmp/pyod/bin/python benches/pyod/ranks.py OUTPUT.txt   # mean rank against the peers

It reads the sets from datasets/adbench (ADBENCH=folder to change). Q=1 prints only
the means.
"""
import numpy as np, glob, sys, time, os
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
import jax, jax.numpy as jnp, optax

def robust(Xtr, Xte):
    med = np.median(Xtr, 0); q75, q25 = np.percentile(Xtr, [75, 25], 0)
    iqr = q75 - q25; sd = Xtr.std(0)
    scale = np.where(iqr > 0, iqr / 1.349, np.where(sd > 0, sd, 1.0))
    return (Xtr - med) / scale, (Xte - med) / scale

def init(key, d, h, layers):
    ps = []; dims = [d] + [h]*layers + [1]
    for i in range(len(dims)-1):
        key, k = jax.random.split(key)
        ps.append((jax.random.normal(k, (dims[i], dims[i+1])) * np.sqrt(1.0/dims[i]), jnp.zeros(dims[i+1])))
    return ps

def mlp(ps, x):
    for W, b in ps[:-1]:
        x = jax.nn.swish(x @ W + b)
    W, b = ps[-1]; return (x @ W + b)[:, 0]

def gauss_fit(X, shrink=1e-3):
    mu = X.mean(0); C = np.cov(X.T) + shrink*np.eye(X.shape[1])*np.trace(np.cov(X.T))/X.shape[1]
    return mu, C

def nce(Xtr, Xte, seed, h=64, layers=2, steps=2000, bs=256, lr=1e-3, scale=1.0, wd=1e-4):
    d = Xtr.shape[1]
    mu, C = gauss_fit(Xtr); C = C*scale**2; L = np.linalg.cholesky(C); Ci = np.linalg.inv(C)
    def logq(x):
        r = x - mu; return -0.5*np.einsum('ij,jk,ik->i', r, Ci, r)
    key = jax.random.PRNGKey(seed); ps = init(key, d, h, layers)
    opt = optax.adamw(lr, weight_decay=wd); st = opt.init(ps)
    rng = np.random.default_rng(seed)
    @jax.jit
    def step(ps, st, xb, zb):
        def loss(ps):
            return jnp.mean(jax.nn.softplus(-mlp(ps, xb))) + jnp.mean(jax.nn.softplus(mlp(ps, zb)))
        l, g = jax.value_and_grad(loss)(ps); u, st = opt.update(g, st, ps); return optax.apply_updates(ps, u), st, l
    for t in range(steps):
        xb = Xtr[rng.integers(0, len(Xtr), bs)]; zb = mu + rng.standard_normal((bs, d)) @ L.T
        ps, st, l = step(ps, st, jnp.array(xb, jnp.float32), jnp.array(zb, jnp.float32))
    return -(logq(Xte) + np.array(mlp(ps, jnp.array(Xte, jnp.float32))))  # energy = anomaly score


class Marg:
    def __init__(self, X, bwf=1.0, G=1024, eps=0.0, S=5.0):
        self.eps=eps; self.S=S
        n, d = X.shape; self.X = X; self.d = d
        sd = X.std(0); q75, q25 = np.percentile(X, [75, 25], 0); iqr = (q75-q25)/1.349
        s = np.minimum(sd, np.where(iqr > 0, iqr, sd)); s = np.where(s > 0, s, 1.0)
        self.h = bwf * 0.9 * s * n ** (-0.2)
        self.lo = X.min(0) - 4*self.h; self.hi = X.max(0) + 4*self.h; self.G = G
        self.grid = np.linspace(self.lo, self.hi, G)  # [G, d]
        self.logp = np.zeros((G, d))
        for j in range(d):
            # binned KDE: histogram on the grid then gaussian smoothing
            hist, _ = np.histogram(X[:, j], bins=G, range=(self.lo[j], self.hi[j]))
            dx = (self.hi[j]-self.lo[j])/(G-1)
            k = np.arange(-G//2, G//2) * dx; ker = np.exp(-0.5*(k/self.h[j])**2); ker /= ker.sum()
            dens = np.convolve(hist, ker, mode='same') / (n*dx)
            self.logp[:, j] = np.log(np.maximum(dens, 1e-300))
    def sample(self, rng, m):
        idx = rng.integers(0, len(self.X), (m, self.d))
        return self.X[idx, np.arange(self.d)] + rng.standard_normal((m, self.d))*self.h
    def logq(self, x):
        out = np.zeros(len(x))
        for j in range(self.d):
            t = np.clip((x[:, j]-self.lo[j])/(self.hi[j]-self.lo[j])*(self.G-1), 0, self.G-1)
            i = np.minimum(t.astype(int), self.G-2); f = t - i
            lp = self.logp[i, j]*(1-f) + self.logp[i+1, j]*f
            # tails: gaussian decay beyond the grid
            below = x[:, j] < self.lo[j]; above = x[:, j] > self.hi[j]
            lp = np.where(below, self.logp[0, j] - 0.5*((self.lo[j]-x[:, j])/self.h[j])**2 - (self.lo[j]-x[:, j])*0, lp)
            lp = np.where(above, self.logp[-1, j] - 0.5*((x[:, j]-self.hi[j])/self.h[j])**2, lp)
            if self.eps > 0:
                lb = np.log(self.eps) - 0.5*(x[:, j]/self.S)**2 - np.log(self.S*np.sqrt(2*np.pi))
                lp = np.logaddexp(np.log1p(-self.eps) + lp, lb)
            out += lp
        return out

def fit_nce(Xtr, M, seed, steps, h, layers, bs, lr, wd):
    """The MLP f of log p = log q - f fitted by NCE against the noise M (its samples); returns
    its parameters."""
    ps = init(jax.random.PRNGKey(seed), Xtr.shape[1], h, layers)
    opt = optax.adamw(lr, weight_decay=wd); st = opt.init(ps)
    rng = np.random.default_rng(seed)
    @jax.jit
    def step(ps, st, xb, zb):
        def loss(ps):
            return jnp.mean(jax.nn.softplus(-mlp(ps, xb))) + jnp.mean(jax.nn.softplus(mlp(ps, zb)))
        l, g = jax.value_and_grad(loss)(ps); u, st = opt.update(g, st, ps); return optax.apply_updates(ps, u), st, l
    for t in range(steps):
        xb = Xtr[rng.integers(0, len(Xtr), bs)]; zb = M.sample(rng, bs)
        ps, st, l = step(ps, st, jnp.array(xb, jnp.float32), jnp.array(zb, jnp.float32))
    return ps

def nce_m(Xtr, Xte, seed, h=64, layers=2, steps=1000, bs=256, lr=1e-3, wd=1e-4, bwf=1.0, mix=1.0, eps=0.0, S=5.0, norm=0):
    M = Marg(Xtr, bwf); Me = Marg(Xtr, bwf, eps=eps, S=S)
    ps = fit_nce(Xtr, M, seed, steps, h, layers, bs, lr, wd)
    if norm:
        mtr = -Me.logq(Xtr); ftr = np.array(mlp(ps, jnp.array(Xtr, jnp.float32)))
        sp = (lambda v: np.std(v)) if norm == 1 else (lambda v: np.subtract(*np.percentile(v, [75, 25])))
        mix = mix * sp(mtr) / sp(ftr)
    return -(Me.logq(Xte) + mix*np.array(mlp(ps, jnp.array(Xte, jnp.float32))))


from scipy.stats import norm as _norm
def gauss_cop(Xtr, X):
    out = np.empty_like(X)
    n = len(Xtr)
    for j in range(X.shape[1]):
        srt = np.sort(Xtr[:, j])
        # mid-rank empirical CDF, linear between order statistics, clipped away from 0 and 1
        lo = np.searchsorted(srt, X[:, j], 'left'); hi = np.searchsorted(srt, X[:, j], 'right')
        u = (lo + hi) / 2.0 / n
        u = np.clip(u, 0.5 / n, 1 - 0.5 / n)
        out[:, j] = _norm.ppf(u)
    return out

def copula(Xtr, Xte, seed, h=64, layers=2, steps=1000, bs=256, lr=1e-3, wd=1e-4, mix=0.3, K=1):
    d = Xtr.shape[1]; M = Marg(Xtr)
    Gtr = gauss_cop(Xtr, Xtr); Gte = gauss_cop(Xtr, Xte)
    rng = np.random.default_rng(seed)
    fs = 0
    for k in range(K):
        ps = init(jax.random.PRNGKey(seed*10+k), d, h, layers)
        opt = optax.adamw(lr, weight_decay=wd); st = opt.init(ps)
        @jax.jit
        def step(ps, st, xb, zb):
            def loss(ps):
                return jnp.mean(jax.nn.softplus(-mlp(ps, xb))) + jnp.mean(jax.nn.softplus(mlp(ps, zb)))
            l, g = jax.value_and_grad(loss)(ps); u, st = opt.update(g, st, ps); return optax.apply_updates(ps, u), st, l
        for t in range(steps):
            xb = Gtr[rng.integers(0, len(Gtr), bs)]; zb = rng.standard_normal((bs, d))
            ps, st, l = step(ps, st, jnp.array(xb, jnp.float32), jnp.array(zb, jnp.float32))
        fs = fs + np.array(mlp(ps, jnp.array(Gte, jnp.float32))) / K
    return -(M.logq(Xte) + mix*fs)


def cd(Xtr, Xte, seed, h=64, layers=2, steps=1000, bs=256, lr=1e-3, k=20, eps=0.01, alpha=0.1):
    d = Xtr.shape[1]
    ps = init(jax.random.PRNGKey(seed), d, h, layers)
    opt = optax.adam(lr); st = opt.init(ps)
    rng = np.random.default_rng(seed)
    gradx = jax.jit(jax.grad(lambda x, ps: jnp.sum(mlp(ps, x))))
    @jax.jit
    def langevin(ps, x, noise):
        def body(i, x):
            return x - eps * gradx(x, ps) + jnp.sqrt(2 * eps) * noise[i]
        return jax.lax.fori_loop(0, k, body, x)
    @jax.jit
    def step(ps, st, xp, xn):
        def loss(ps):
            ep, en = mlp(ps, xp), mlp(ps, xn)
            return jnp.mean(ep) - jnp.mean(en) + alpha * jnp.mean(ep**2 + en**2)
        l, g = jax.value_and_grad(loss)(ps); u, st = opt.update(g, st, ps); return optax.apply_updates(ps, u), st, l
    for t in range(steps):
        xb = jnp.array(Xtr[rng.integers(0, len(Xtr), bs)], jnp.float32)
        xn = langevin(ps, xb, jnp.array(rng.standard_normal((k, bs, d)), jnp.float32))
        ps, st, l = step(ps, st, xb, xn)
    return np.array(mlp(ps, jnp.array(Xte, jnp.float32)))


def tailE(Xtr, X):
    n = len(Xtr); out = np.zeros(len(X))
    for j in range(X.shape[1]):
        srt = np.sort(Xtr[:, j])
        lo = np.searchsorted(srt, X[:, j], 'left'); hi = np.searchsorted(srt, X[:, j], 'right')
        F = np.clip((lo + hi) / 2.0 / n, 0.5 / n, 1 - 0.5 / n)
        out += -np.log(2 * np.minimum(F, 1 - F))
    return out

def tail(Xtr, Xte, seed, mix=0.0, steps=1000, kde=0.0):
    e = tailE(Xtr, Xte)
    if kde > 0:
        e = e - kde * Marg(Xtr).logq(Xte)
    if mix > 0:
        e = e - mix * nce_f(Xtr, Xte, seed, steps)
    return e

def nce_f(Xtr, Xte, seed, steps, h=64, layers=2, bs=256, lr=1e-3, wd=1e-4):
    ps = fit_nce(Xtr, Marg(Xtr), seed, steps, h, layers, bs, lr, wd)
    return np.array(mlp(ps, jnp.array(Xte, jnp.float32)))

def margonly(Xtr, Xte, seed, bwf=1.0, eps=0.0, S=5.0):
    return -Marg(Xtr, bwf, eps=eps, S=S).logq(Xte)

def mahal(Xtr, Xte, seed):
    mu, C = gauss_fit(Xtr); Ci = np.linalg.inv(C); r = Xte-mu
    return np.einsum('ij,jk,ik->i', r, Ci, r)

def iforest(Xtr, Xte, seed):
    from pyod.models.iforest import IForest
    m = IForest(random_state=seed).fit(Xtr); return m.decision_function(Xte)

def knn(Xtr, Xte, seed):
    from pyod.models.knn import KNN
    m = KNN().fit(Xtr); return m.decision_function(Xte)

def pyodm(cls):
    def f(Xtr, Xte, seed):
        import importlib
        mod, name = cls.rsplit('.', 1); C = getattr(importlib.import_module('pyod.models.'+mod), name)
        kw = {'random_state': seed} if name == 'IForest' else {}
        return C(**kw).fit(Xtr).decision_function(Xte)
    return f
methods = {p: pyodm(p) for p in ['iforest.IForest','knn.KNN','lof.LOF','ecod.ECOD','ocsvm.OCSVM']} if os.environ.get('PEERS') else {}
for spec in sys.argv[1:]:
    name, _, kv = spec.partition(':')
    kw = dict((k, float(v) if '.' in v or 'e' in v else int(v)) for k, v in (p.split('=') for p in kv.split(',') if p))
    methods[spec] = (lambda kw, f: lambda a, b, s: f(a, b, s, **kw))(kw, nce if name=='nce' else nce_m if name=='ncem' else copula if name=='cop' else cd if name=='cd' else tail if name=='tail' else margonly)
import os
VAL=os.environ.get('VAL')=='1'
res = {}
for f in sorted(glob.glob(os.path.join(os.environ.get('ADBENCH', 'datasets/adbench'), '*.npz'))):
    z = np.load(f); X = z['X'].astype(np.float64); y = z['y']; nm = f.split('/')[-1][:-4]
    for m, fn in methods.items():
        aucs = []; t0 = time.time()
        for seed in range(3):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
            if VAL: Xtr, Xte, ytr, yte = train_test_split(Xtr, ytr, test_size=0.3, stratify=ytr, random_state=100+seed)
            a, b = robust(Xtr, Xte)
            aucs.append(roc_auc_score(yte, fn(a, b, seed)))
        res.setdefault(m, []).append(np.mean(aucs))
        if os.environ.get('Q') is None: print(f"{nm:18s} {m:40s} {np.mean(aucs):.3f} ± {np.std(aucs):.3f}  {time.time()-t0:.1f}s", flush=True)
print()
for m, v in res.items(): print(f"{m:40s} mean {np.mean(v):.3f}")
