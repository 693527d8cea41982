"""PyTorch side of bench/cnn.ts: one model's train step and eval forward, or its peak memory.

Usage: /usr/bin/python3 cnn_torch.py '<json config>'  — prints one JSON line.
  config: {model, input: [C, H, W], batch, threads, reps, warm, mode: 'time' | 'peak'}
  'time' → {torch, threads, train, eval} (best seconds of `reps` runs after `warm` warm-up runs)
  'peak' → {torch, rssBefore, maxRss} (bytes, VmHWM; two training steps at `batch`)
  a model with no PyTorch structure here → {missing: '<why>'}

The structures are the zoo fixtures' (test/fixtures/zoo/make_zoo_*.py): each script's CASES
name our model and its PyTorch builder (torchvision's, or the reference one the script
registers on torchvision.models), so importing the scripts makes every fixture model available
here without writing a structure twice. Models with no fixture case are listed in EXTRA.
"""
import glob
import importlib
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.join(HERE, '..', 'test', 'fixtures', 'zoo')
sys.path.insert(0, ZOO)


def resnet18_cifar(**kwargs):
    """kuangliu's CIFAR ResNet-18 is torchvision's with a 3×3 stride-1 stem and no max pool
    (the 1×1 adaptive pool on its 4×4 maps is avg_pool2d(4)); only the names differ."""
    model = torchvision.models.resnet18(**kwargs)
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


EXTRA = {'resnet18_cifar': (resnet18_cifar, {'num_classes': 10})}


def find_builder(name):
    if name in EXTRA:
        return EXTRA[name]
    for path in sorted(glob.glob(os.path.join(ZOO, 'make_zoo*.py'))):
        mod = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        for c in getattr(mod, 'CASES', []):
            if c['name'] == name and not c.get('options'):
                return getattr(torchvision.models, c['builder']), c.get('kwargs', {})
    return None


def peak_rss():
    """VmHWM in bytes: this process image's peak RSS (ru_maxrss would carry the parent's across fork/exec)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no VmHWM in /proc/self/status')


def best_of(f, reps, warm):
    for _ in range(warm):
        f()
    b = float('inf')
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t0)
    return b


def setup(cfg):
    """cfg's model (its zoo fixture structure, float32) on cfg['threads'] threads, a random batch
    and its training step (SGD, momentum 0.9): (model, x, train_step); None, after printing a
    {missing} line, when there is no structure for it. Also used by bench/profile_torch.py."""
    found = find_builder(cfg['model'])
    # After the imports: make_zoo.py pins its own thread count when imported.
    torch.set_num_threads(cfg['threads'])
    torch.manual_seed(0)
    if found is None:
        print(json.dumps({'missing': f"no PyTorch structure for {cfg['model']} in test/fixtures/zoo"}))
        return None
    builder, kwargs = found
    model = builder(**kwargs).to(torch.float32)
    x = torch.randn(cfg['batch'], *cfg['input'])
    y = torch.randint(0, 10, (cfg['batch'],))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return model, x, train_step


def main():
    cfg = json.loads(sys.argv[1])
    built = setup(cfg)
    if built is None:
        return
    model, x, train_step = built

    if cfg['mode'] == 'peak':
        model.train()
        with open('/proc/self/statm') as f:
            rss_before = int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
        for _ in range(2):
            train_step()
        print(json.dumps({'torch': torch.__version__, 'rssBefore': rss_before, 'maxRss': peak_rss()}))
        return

    t_train = None
    if cfg['mode'] != 'eval':
        model.train()
        t_train = best_of(train_step, cfg['reps'], cfg['warm'])
    model.eval()

    def eval_fwd():
        with torch.no_grad():
            model(x)
    t_eval = best_of(eval_fwd, cfg['reps'], cfg['warm'])
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'train': t_train, 'eval': t_eval}))


if __name__ == '__main__':
    main()
