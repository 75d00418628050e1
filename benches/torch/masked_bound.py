"""How well can any restoration be classified? A ceiling for restore-bench's judge agreement.

A restoration of a masked digit is a function of its observed pixels, so the judge's agreement
with the clean label on restorations is the accuracy of one classifier of the observed pixels
(judge after restorer). A classifier trained directly on the observed pixels estimates the best
such accuracy (from below: it is one classifier, not the Bayes rule). This script trains the
judge's network (the project's CNN backbone, width 16: convolutions 1 -> 8 (k5, s2, p4) -> 16 ->
32 -> 32 (k3, s2, p1), SiLU, linear 128 -> 32 -> 10; 2,000 Adam steps of 64 at lr 1e-3, as
`ebm train-conditional --target digit`) on masked digits of `datasets/mnist-4k` (missing pixels
set to the background, -1) and reports held-out accuracy per mask, with the unmasked network as
the control, over several seeded stratified 3,200 / 800 splits.

    python benches/torch/masked_bound.py [seeds] [steps]      # defaults: 3, 2000
"""

import gzip
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MASKS = ["none", "bottom", "top", "left", "right", "center"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, rows, cols)
    return np.frombuffer(data[8:], dtype=np.uint8)


def observed(mask):
    """1 where a pixel is observed, as restore-bench's masks (28x28)."""
    m = np.ones((28, 28), dtype=np.float32)
    if mask == "bottom":
        m[14:, :] = 0
    elif mask == "top":
        m[:14, :] = 0
    elif mask == "left":
        m[:, :14] = 0
    elif mask == "right":
        m[:, 14:] = 0
    elif mask == "center":
        m[7:21, 7:21] = 0
    return m


class Backbone(nn.Module):
    def __init__(self, hidden=16, classes=10):
        super().__init__()
        w = [hidden // 2, hidden, 2 * hidden, 2 * hidden]
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(1, w[0], 5, 2, 4),
                nn.Conv2d(w[0], w[1], 3, 2, 1),
                nn.Conv2d(w[1], w[2], 3, 2, 1),
                nn.Conv2d(w[2], w[3], 3, 2, 1),
            ]
        )
        self.hidden = nn.Linear(w[3] * 4, 2 * hidden)
        self.out = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        for c in self.convs:
            x = F.silu(c(x))
        return self.out(F.silu(self.hidden(x.flatten(1))))


def split(labels, seed, test_per_class=80):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test += list(idx[:test_per_class])
        train += list(idx[test_per_class:])
    return np.array(train), np.array(test)


def accuracy(images, labels, train, test, mask, seed, steps):
    torch.manual_seed(seed)
    m = torch.from_numpy(observed(mask))
    x = torch.from_numpy(images) * m - (1 - m)
    y = torch.from_numpy(labels.astype(np.int64))
    net = Backbone()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    tr = torch.from_numpy(train)
    for _ in range(steps):
        b = tr[torch.randint(len(tr), (64,), generator=g)]
        loss = F.cross_entropy(net(x[b]), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        te = torch.from_numpy(test)
        return (net(x[te]).argmax(1) == y[te]).float().mean().item()


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    torch.set_num_threads(2)
    images = read_idx("datasets/mnist-4k/images-idx3-ubyte.gz").astype(np.float32)
    images = (images / 127.5 - 1.0)[:, None]
    labels = read_idx("datasets/mnist-4k/labels-idx1-ubyte.gz")
    print(f"| mask | held-out accuracy per seed ({steps} steps) | mean |")
    print("|---|---|---|")
    for mask in MASKS:
        accs = []
        for seed in range(seeds):
            train, test = split(labels, seed)
            accs.append(accuracy(images, labels, train, test, mask, seed, steps))
        cells = ", ".join(f"{a:.3f}" for a in accs)
        print(f"| {mask} | {cells} | {np.mean(accs):.3f} |", flush=True)


if __name__ == "__main__":
    main()
