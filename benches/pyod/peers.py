"""Scores ADBench's sets with pyod's detectors on exactly the splits of an `ebm anomaly bench` run.

    benches/pyod/setup.sh                      # the virtualenv in /tmp/pyod
    ebm anomaly bench --data datasets/adbench --out runs/anomaly-bench
    /tmp/pyod/bin/python benches/pyod/peers.py --bench runs/anomaly-bench --data datasets/adbench

For every set and seed in `splits.json` it standardises the rows with the split's own centre and
scale (the ones the EBM used: median and IQR / 1.349 of the training part), fits Isolation
Forest, KNN, LOF, ECOD and OCSVM (pyod's defaults; Isolation Forest seeded with the split's seed)
on the training part without labels and scores the test part. It writes `peers.json` (every
detector's per-seed AUROC, AUPRC, fit and score seconds) and `compare.md`: AUROC per set, mean +-
sd over seeds, for the EBM (from `bench.json`) and every peer side by side, the mean over sets
and each detector's mean rank (rank 1 = best AUROC on a set, averaged over sets).

`--throughput N` also times Isolation Forest (fitted on the first split's training part) scoring
all rows of each set, best of N timings, and prints rows per second: the peer of the criterion
bench `cargo bench --bench anomaly` (all 49,097 rows of shuttle).
"""
import argparse
import json
import os
import time

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

PEERS = ["IForest", "KNN", "LOF", "ECOD", "OCSVM"]


def make(name, seed):
    if name == "IForest":
        from pyod.models.iforest import IForest
        return IForest(random_state=seed)
    if name == "KNN":
        from pyod.models.knn import KNN
        return KNN()
    if name == "LOF":
        from pyod.models.lof import LOF
        return LOF()
    if name == "ECOD":
        from pyod.models.ecod import ECOD
        return ECOD()
    from pyod.models.ocsvm import OCSVM
    return OCSVM()


def score_split(X, y, split, name):
    center, scale = np.array(split["center"]), np.array(split["scale"])
    tr, te = np.array(split["train"]), np.array(split["test"])
    Xtr, Xte = (X[tr] - center) / scale, (X[te] - center) / scale
    model = make(name, split["seed"])
    t0 = time.perf_counter()
    model.fit(Xtr)
    t1 = time.perf_counter()
    s = model.decision_function(Xte)
    t2 = time.perf_counter()
    return dict(seed=split["seed"], auroc=roc_auc_score(y[te], s),
                auprc=average_precision_score(y[te], s), fit_seconds=t1 - t0, score_seconds=t2 - t1)


def mean_sd(v):
    v = np.asarray(v, dtype=float)
    return v.mean(), (v.std(ddof=1) if len(v) > 1 else 0.0)


def compare(bench, peers):
    sets = [s["name"] for s in bench["sets"]]
    auc = {"EBM": {s["name"]: [x["auroc"] for x in s["seeds"]] for s in bench["sets"]}}
    for p in PEERS:
        auc[p] = {s: [x["auroc"] for x in peers[p][s]] for s in sets}
    dets = list(auc)
    means = {d: {s: np.mean(auc[d][s]) for s in sets} for d in dets}
    ranks = {d: [] for d in dets}
    for s in sets:
        order = sorted(dets, key=lambda d: -means[d][s])
        for r, d in enumerate(order):
            ranks[d].append(r + 1)
    lines = ["| set | " + " | ".join(dets) + " |", "|---|" + "---|" * len(dets)]
    for s in sets:
        best = max(means[d][s] for d in dets)
        cells = []
        for d in dets:
            m, sd = mean_sd(auc[d][s])
            cell = f"{m:.3f} ± {sd:.3f}"
            cells.append(f"**{cell}**" if means[d][s] == best else cell)
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines.append("| **mean AUROC** | " + " | ".join(f"{np.mean(list(means[d].values())):.3f}" for d in dets) + " |")
    lines.append("| **mean rank** | " + " | ".join(f"{np.mean(ranks[d]):.2f}" for d in dets) + " |")
    prc = {"EBM": {s["name"]: [x["auprc"] for x in s["seeds"]] for s in bench["sets"]}}
    for p in PEERS:
        prc[p] = {s: [x["auprc"] for x in peers[p][s]] for s in sets}
    lines.append("| mean AUPRC | " + " | ".join(f"{np.mean([np.mean(prc[d][s]) for s in sets]):.3f}" for d in dets) + " |")
    return "\n".join(lines) + "\n"


def throughput(X, split, repeats):
    """Rows per second of Isolation Forest scoring all rows of X (best of `repeats` timings)."""
    center, scale = np.array(split["center"]), np.array(split["scale"])
    Z = (X - center) / scale
    model = make("IForest", split["seed"]).fit(Z[np.array(split["train"])])
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.decision_function(Z)
        best = min(best, time.perf_counter() - t0)
    return len(Z) / best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="the output folder of `ebm anomaly bench`")
    ap.add_argument("--data", required=True, help="the folder of .npz sets it ran on")
    ap.add_argument("--throughput", type=int, default=0, help="also time scoring all rows, best of this many")
    ap.add_argument("--table-only", action="store_true", help="rewrite compare.md from peers.json, fitting nothing")
    args = ap.parse_args()
    bench = json.load(open(os.path.join(args.bench, "bench.json")))
    splits = json.load(open(os.path.join(args.bench, "splits.json")))
    peers = {p: {} for p in PEERS}
    data = {}
    if args.table_only:
        peers = json.load(open(os.path.join(args.bench, "peers.json")))
        splits = []
    for split in splits:
        name = split["set"]
        if name not in data:
            z = np.load(os.path.join(args.data, name + ".npz"))
            data[name] = (z["X"].astype(np.float64), z["y"].astype(int))
        X, y = data[name]
        for p in PEERS:
            r = score_split(X, y, split, p)
            peers[p].setdefault(name, []).append(r)
            print(f"{name} seed {split['seed']} {p}: AUROC {r['auroc']:.3f}", flush=True)
    if not args.table_only:
        json.dump(peers, open(os.path.join(args.bench, "peers.json"), "w"), indent=1)
    table = compare(bench, peers)
    open(os.path.join(args.bench, "compare.md"), "w").write(table)
    print(table)
    if args.throughput:
        splits = json.load(open(os.path.join(args.bench, "splits.json")))
        for name in sorted({s["set"] for s in splits}):
            X = np.load(os.path.join(args.data, name + ".npz"))["X"].astype(np.float64)
            first = next(s for s in splits if s["set"] == name)
            print(f"{name}: Isolation Forest scores {throughput(X, first, args.throughput):,.0f} rows/s")


if __name__ == "__main__":
    main()
