"""PyTorch side of the Fashion-MNIST acceptance run (issue 12): simple_convnet (the book's
SimpleConvNet: conv 30 5×5 → ReLU → max pool 2 → Linear 4320→100 → ReLU → Linear 100→10),
one epoch of Adam (lr 0.001), batch 100, no augmentation, inputs normalised with the training
mean/std (0.2860, 0.3530) as `cs231n train` does. Prints test accuracy and seconds as JSON.

Usage: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/fashion_torch.py [threads] [epochs]
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
ROOT = '/usr/share/datasets/fashion-mnist/'


def idx(name, offset):
    with gzip.open(ROOT + name) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


xtr = idx('train-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28)
ytr = idx('train-labels-idx1-ubyte.gz', 8).astype(np.int64)
xte = idx('t10k-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28)
yte = idx('t10k-labels-idx1-ubyte.gz', 8).astype(np.int64)
norm = lambda x: torch.from_numpy(((x / 255.0 - 0.2860) / 0.3530).astype(np.float32))
Xtr, Xte, Ytr, Yte = norm(xtr), norm(xte), torch.from_numpy(ytr), torch.from_numpy(yte)

model = nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4320, 100), nn.ReLU(), nn.Linear(100, 10))
opt = torch.optim.Adam(model.parameters(), lr=0.001)
loss_fn = nn.CrossEntropyLoss()
t0 = time.perf_counter()
for epoch in range(epochs):
    perm = torch.randperm(len(Xtr))
    model.train()
    for i in range(0, len(Xtr), 100):
        idxs = perm[i:i + 100]
        opt.zero_grad()
        loss = loss_fn(model(Xtr[idxs]), Ytr[idxs])
        loss.backward()
        opt.step()
train_s = time.perf_counter() - t0
model.eval()
with torch.no_grad():
    correct = sum((model(Xte[i:i + 500]).argmax(1) == Yte[i:i + 500]).sum().item() for i in range(0, len(Xte), 500))
print(json.dumps({'torch': torch.__version__, 'threads': threads, 'epochs': epochs, 'testAccuracy': correct / len(Xte),
                  'trainSeconds': train_s, 'seconds': time.perf_counter() - t0}))
