"""PyTorch side of bench/opsVsTorch.ts: where one model's training step (or eval forward)
spends its time, per convolution and batch-norm shape, keyed as bench/profileStep.ts keys ours.

Usage: /usr/bin/python3 profile_torch.py '<json config>'  — prints one JSON line.
  config: {model, input: [C, H, W], batch, threads, steps, eval}
  → {torch, threads, total, profiled, rows: [{key, ms, calls}]}: ms per step of untimed steps
    and of the profiled ones (the profiler's records slow small ops), then each row's ms and
    calls per step in the profiled steps
  a model with no PyTorch structure here → {missing: '<why>'}

Keys (self times): 'conv C→F kh×kw[ sS][ gG] at H×W fwd|bwd' (the convolution kernels
CONV_FWD and aten::convolution_backward), 'batch_norm N×C×H×W fwd|bwd'
(aten::native_batch_norm, aten::native_batch_norm_backward), 'relu fwd|bwd' (the activations
our batch norm fuses: aten::relu_ / relu / clamp_min_ / hardtanh_, aten::threshold_backward,
aten::hardtanh_backward). The profiler does not record a convolution's stride, so forward hooks
map each Conv2d's (input shape, weight shape) to its geometry first. The structures are
bench/cnn_torch.py's (the zoo fixtures').
"""
import json
import sys
import time

import torch
import torch.nn as nn
from torch.profiler import ProfilerActivity, profile

import cnn_torch

# The kernels under aten::convolution (their self time: the profiler's own records of the
# small ops around them would count otherwise).
CONV_FWD = {'aten::mkldnn_convolution', 'aten::_slow_conv2d_forward', 'aten::_conv_depthwise2d', 'aten::thnn_conv2d', 'aten::slow_conv_dilated2d'}
RELU_FWD = {'aten::relu_', 'aten::relu', 'aten::clamp_min_', 'aten::hardtanh_', 'aten::hardtanh'}
RELU_BWD = {'aten::threshold_backward', 'aten::hardtanh_backward'}


def conv_key(geo, x_shape, direction):
    c_in, f_out, kh, kw, stride, groups = geo
    s = f' s{stride}' if stride > 1 else ''
    g = f' g{groups}' if groups > 1 else ''
    return f'conv {c_in}→{f_out} {kh}×{kw}{s}{g} at {x_shape[2]}×{x_shape[3]} {direction}'


def main():
    cfg = json.loads(sys.argv[1])
    built = cnn_torch.setup(cfg)
    if built is None:
        return
    model, x, train_step = built

    geometry = {}

    def remember(mod, inputs):
        w = mod.weight
        geometry[(tuple(inputs[0].shape), tuple(w.shape))] = (
            mod.in_channels, mod.out_channels, mod.kernel_size[0], mod.kernel_size[1], mod.stride[0], mod.groups)

    hooks = [m.register_forward_pre_hook(remember) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()

    def eval_fwd():
        with torch.no_grad():
            model(x)

    step = eval_fwd if cfg['eval'] else train_step
    model.train(not cfg['eval'])
    for _ in range(2):
        step()
    steps = cfg['steps']
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    total = (time.perf_counter() - t0) / steps * 1e3
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    profiled = (time.perf_counter() - t0) / steps * 1e3

    rows = {}

    def add(key, us, count):
        r = rows.setdefault(key, {'key': key, 'ms': 0.0, 'calls': 0.0})
        r['ms'] += us / 1e3 / steps
        r['calls'] += count / steps

    for e in prof.key_averages(group_by_input_shape=True):
        shapes = e.input_shapes
        if e.key in CONV_FWD and len(shapes) >= 2:
            geo = geometry.get((tuple(shapes[0]), tuple(shapes[1])))
            if geo is not None:
                add(conv_key(geo, shapes[0], 'fwd'), e.self_cpu_time_total, e.count)
        elif e.key == 'aten::convolution_backward' and len(shapes) >= 3:
            geo = geometry.get((tuple(shapes[1]), tuple(shapes[2])))
            if geo is not None:
                add(conv_key(geo, shapes[1], 'bwd'), e.self_cpu_time_total, e.count)
        elif e.key == 'aten::native_batch_norm' and shapes:
            add('batch_norm ' + '×'.join(map(str, shapes[0])) + ' fwd', e.self_cpu_time_total, e.count)
        elif e.key == 'aten::native_batch_norm_backward' and len(shapes) >= 2:
            add('batch_norm ' + '×'.join(map(str, shapes[1])) + ' bwd', e.self_cpu_time_total, e.count)
        elif e.key in RELU_FWD:
            add('relu fwd', e.self_cpu_time_total, e.count)
        elif e.key in RELU_BWD:
            add('relu bwd', e.self_cpu_time_total, e.count)
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'total': total, 'profiled': profiled,
                      'rows': sorted(rows.values(), key=lambda r: -r['ms'])}))


if __name__ == '__main__':
    main()
