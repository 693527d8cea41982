"""The book's ch07 SimpleConvNet / ch08 DeepConvNet setups in PyTorch, as a reference for what
that setup reaches on the same data (bench/RESULTS.md, 'DLFS long training runs').

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/dlfs_torch.py \
      --net simple|deep --xtr F --ytr F --xte F --yte F [--epochs 20] [--seed 0] [--threads 2]

Inputs: raw uint8 images (N*784 bytes) and int32 labels, as written by
`npx tsx bench/exportDigits.ts DIR` (the embedded MNIST: DIR/xtr.u8, ytr.i32, xte.u8, yte.i32) or Fashion-MNIST's IDX files (--idx DIR).
Setup (the book's): pixels / 255, minibatches of 100 drawn WITH replacement, Adam lr 1e-3,
int(epochs * N / 100) updates; SimpleConvNet weights N(0, 0.01²), DeepConvNet He-normal with
the book's fan-ins; DeepConvNet's two dropouts are the book's non-inverted ones (scale at test).
"""
import argparse, gzip, os, time
import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--net', choices=['simple', 'deep'], required=True)
p.add_argument('--xtr'); p.add_argument('--ytr'); p.add_argument('--xte'); p.add_argument('--yte')
p.add_argument('--idx', help='a directory with the four Fashion-MNIST/MNIST .gz IDX files')
p.add_argument('--epochs', type=int, default=20)
p.add_argument('--seed', type=int, default=0)
p.add_argument('--threads', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
rng = np.random.RandomState(a.seed)

def idx(path, header):
    with gzip.open(path, 'rb') as f:
        return np.frombuffer(f.read()[header:], dtype=np.uint8)

if a.idx:
    xtr = idx(os.path.join(a.idx, 'train-images-idx3-ubyte.gz'), 16); ytr = idx(os.path.join(a.idx, 'train-labels-idx1-ubyte.gz'), 8).astype(np.int64)
    xte = idx(os.path.join(a.idx, 't10k-images-idx3-ubyte.gz'), 16); yte = idx(os.path.join(a.idx, 't10k-labels-idx1-ubyte.gz'), 8).astype(np.int64)
else:
    xtr = np.fromfile(a.xtr, dtype=np.uint8); ytr = np.fromfile(a.ytr, dtype=np.int32).astype(np.int64)
    xte = np.fromfile(a.xte, dtype=np.uint8); yte = np.fromfile(a.yte, dtype=np.int32).astype(np.int64)
xtr = torch.tensor(xtr.reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32); ytr = torch.tensor(ytr)
xte = torch.tensor(xte.reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32); yte = torch.tensor(yte)

def param(shape, std):
    return torch.nn.Parameter(torch.randn(*shape) * std)

if a.net == 'simple':
    W = [param((30, 1, 5, 5), 0.01), param((30,), 0), param((4320, 100), 0.01), param((100,), 0), param((100, 10), 0.01), param((10,), 0)]
    def forward(x, train):
        h = F.max_pool2d(F.relu(F.conv2d(x, W[0], W[1])), 2)
        h = F.relu(h.flatten(1) @ W[2] + W[3])
        return h @ W[4] + W[5]
else:
    convs = [(1, 16, 1), (16, 16, 1), (16, 32, 1), (32, 32, 2), (32, 64, 1), (64, 64, 1)]
    W = []
    for cin, cout, _ in convs:
        W += [param((cout, cin, 3, 3), np.sqrt(2.0 / (cin * 9))), param((cout,), 0)]
    W += [param((64 * 4 * 4, 50), np.sqrt(2.0 / (64 * 4 * 4))), param((50,), 0), param((50, 10), np.sqrt(2.0 / 50)), param((10,), 0)]
    def drop(h, train):
        return h * (torch.rand_like(h) > 0.5) if train else h * 0.5
    def forward(x, train):
        h = x
        for i, (_, _, pad) in enumerate(convs):
            h = F.relu(F.conv2d(h, W[2 * i], W[2 * i + 1], padding=pad))
            if i % 2 == 1: h = F.max_pool2d(h, 2)
        h = drop(F.relu(h.flatten(1) @ W[12] + W[13]), train)
        return drop(h @ W[14] + W[15], train)

opt = torch.optim.Adam(W, lr=1e-3)
n = xtr.shape[0]
steps = int(a.epochs * max(n / 100, 1))
t0 = time.time()
for it in range(steps):
    b = torch.tensor(rng.choice(n, 100))
    loss = F.cross_entropy(forward(xtr[b], True), ytr[b])
    opt.zero_grad(); loss.backward(); opt.step()
    if (it + 1) % int(max(n / 100, 1)) == 0:
        with torch.no_grad():
            acc = (forward(xte[:1000], False).argmax(1) == yte[:1000]).float().mean().item()
        print(f'epoch {(it + 1) // int(max(n / 100, 1))}: test acc (first 1000) {acc:.4f}  {time.time() - t0:.0f} s', flush=True)
with torch.no_grad():
    acc = (forward(xte, False).argmax(1) == yte).float().mean().item()
print(f'final test accuracy {acc:.4f} on {xte.shape[0]} images; {steps} Adam steps in {time.time() - t0:.1f} s ({a.threads} threads)')
