"""PyTorch side of bench/ops.ts: forward + backward time of each case (float32, CPU).

Usage: /usr/bin/python3 ops_torch.py '<json config>'  — prints one JSON line {torch, threads, rows}.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

cases, threads, reps = json.loads(sys.argv[1])
torch.set_num_threads(threads)
torch.manual_seed(0)


def best_of(f):
    t = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - t < 0.5:
        f()
        n += 1
    b = float('inf')
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t0)
    return b


rows = []
for c in cases:
    N, C, H, W = c['N'], c['C'], c['H'], c['W']
    x = torch.randn(N, C, H, W, requires_grad=True)
    if c['kind'] == 'conv':
        w = torch.randn(c['F'], C // c['groups'], c['k'], c['k'], requires_grad=True)

        def fwd():
            return F.conv2d(x, w, None, stride=c['stride'], padding=c['pad'], groups=c['groups'])
    else:
        g = torch.randn(C, requires_grad=True)
        b = torch.randn(C, requires_grad=True)
        rm = torch.zeros(C)
        rv = torch.ones(C)

        def fwd():
            return F.relu6(F.batch_norm(x, rm, rv, g, b, training=True))
    y = fwd()
    dout = torch.randn_like(y)

    def step():
        out = fwd()
        out.backward(dout)

    with torch.no_grad():
        tf = best_of(fwd)
    rows.append({'name': c['name'], 'fwd': tf, 'fwdbwd': best_of(step)})
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'rows': rows}))
