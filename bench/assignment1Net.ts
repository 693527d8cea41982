/**
 * The two-layer net and the image features next to numpy on the same machine, in the same run:
 *
 *   - TwoLayerNet loss + gradients (affine – ReLU – affine – softmax, forward and backward) at
 *     N = 200, D = 3072, H = 50, C = 10, reg 0.25 — one SGD step's work in two_layer_net.ipynb;
 *   - HOG, the hue histogram (nbin 10) and both, of 1000 CIFAR-10 images (32×32×3 uint8) from
 *     the shared cifar-10-mini — features.ipynb's extraction.
 *
 *   npx tsx bench/assignment1Net.ts
 *
 * The numpy side computes the same things with numpy only (no scipy): the net's forward and
 * backward pass; HOG with the starter's steps, its uniform filter done as a cumulative-sum box
 * filter on a symmetric-padded image (scipy's 'reflect'), sampled at the cell centres; the hue by
 * matplotlib's rgb_to_hsv rules and a histogram with np.histogram's bin rule. Features are timed
 * twice on the numpy side: one image at a time, as the starter's extract_features loops, and
 * all 1000 images as one batch (numpy at its best). Both sides read the same data (net: the
 * same MT19937 draws; images: the same bytes, handed over in a temporary file) and the results
 * are compared. Writes the tables, with this command, into the
 * `## assignment 1: two-layer net and features` section of bench/RESULTS.md (other sections kept).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import { TwoLayerNet, TWO_LAYER_NET_PARAM_NAMES } from '../src/classifiers/twoLayerNet';
import { threadCount } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import type { IntTensor, Tensor } from '../src/core/tensor';
import { loadBestDataset } from '../src/data/resolve';
import { colorHistogramHsv, extractFeatures, hogFeature, type FeatureFn } from '../src/features';
import { writeResultsSection } from './results';
import { bestOf } from './timing';
import { runNumpyJson } from './numpy';

const RESULTS = path.join(__dirname, 'RESULTS.md');
const SECTION = '## assignment 1: two-layer net and features';
const COMMAND = 'npx tsx bench/assignment1Net.ts';
const NET = { N: 200, D: 3072, H: 50, C: 10, reg: 0.25, std: 1e-4, reps: 20, warm: 3 };
const FEAT = { n: 1000, reps: 3, warm: 1 };
const MINI = path.resolve(__dirname, '../../shared/data/cifar-10-mini');

/**
 * The net's data, drawn exactly as the numpy side draws it: X ~ U(−128, 128) like
 * mean-subtracted pixels, then the net's W1 and W2 (std·randn, W1 first), then y.
 */
function netData(): { X: Tensor; y: IntTensor; net: TwoLayerNet } {
  const rng = new RandomState(0);
  const X = rng.uniform(-128, 128, [NET.N, NET.D]);
  const net = new TwoLayerNet(NET.D, NET.H, NET.C, { std: NET.std, rng });
  const y = rng.randint(0, NET.C, NET.N) as IntTensor;
  return { X, y, net };
}

const NUMPY_SCRIPT = String.raw`
import json, sys, time
import numpy as np
cfg = json.loads(sys.argv[1])

def best_of(reps, warm, f):
    out = None
    for _ in range(warm):
        out = f()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out

# ---- two-layer net: loss and gradients
n = cfg["net"]
rng = np.random.RandomState(0)
X = rng.uniform(-128, 128, (n["N"], n["D"]))
W1 = n["std"] * rng.randn(n["D"], n["H"])
W2 = n["std"] * rng.randn(n["H"], n["C"])
y = rng.randint(0, n["C"], n["N"])
b1 = np.zeros(n["H"])
b2 = np.zeros(n["C"])
reg = n["reg"]

def net_loss():
    N = X.shape[0]
    h = X.dot(W1) + b1
    a = np.maximum(h, 0)
    s = a.dot(W2) + b2
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    ds = p
    ds[np.arange(N), y] -= 1
    ds /= N
    dW2 = a.T.dot(ds) + 2 * reg * W2
    db2 = ds.sum(axis=0)
    da = ds.dot(W2.T)
    dh = da * (h > 0)
    dW1 = X.T.dot(dh) + 2 * reg * W1
    db1 = dh.sum(axis=0)
    # cs231n's layer stack also returns dx of the first affine layer; ours computes it too.
    dx = dh.dot(W1.T)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

t_net, (loss, grads) = best_of(n["reps"], n["warm"], net_loss)
res = {"numpy": np.__version__, "net": {"t": t_net, "loss": float(loss), "norms": {k: float(np.sqrt((v * v).sum())) for k, v in grads.items()}}}

# ---- features
f = cfg["feat"]
imgs = np.fromfile(f["images"], dtype=np.uint8).reshape(f["n"], 32, 32, 3)
EDGES = np.linspace(0, 255, 11)

def box_mean(a, size=8):
    # scipy.ndimage.uniform_filter(a, size, mode='reflect') over the last two axes:
    # window [i - size//2, i + size - size//2 - 1]; 'reflect' is numpy's 'symmetric' padding.
    lo, hi = size // 2, size - size // 2 - 1
    pad = [(0, 0)] * (a.ndim - 2) + [(lo, hi), (lo, hi)]
    p = np.pad(a, pad, mode="symmetric")
    c = np.cumsum(p, axis=-2)
    c = np.concatenate([np.zeros_like(c[..., :1, :]), c], axis=-2)
    r = c[..., size:, :] - c[..., :-size, :]
    c = np.cumsum(r, axis=-1)
    c = np.concatenate([np.zeros_like(c[..., :, :1]), c], axis=-1)
    return (c[..., :, size:] - c[..., :, :-size]) / (size * size)

GRAY_W = np.array([0.299, 0.587, 0.144])

def gray_seq(ims):
    # The starter's np.dot(rgb, [0.299, 0.587, 0.144]) evaluated left to right. np.dot itself
    # goes to OpenBLAS, whose SkylakeX kernel (picked once OPENBLAS_CORETYPE is unset) rounds
    # some pixels differently, which can move HOG magnitudes across orientation bins; see
    # "dot" below.
    f = ims.astype(np.float64)
    return (0.299 * f[..., 0] + 0.587 * f[..., 1]) + 0.144 * f[..., 2]

def gray_dot(ims):
    return ims[..., :3].astype(np.float64).dot(GRAY_W)

def hog(ims, gray=gray_seq):
    # ims: (..., 32, 32, 3) uint8 -> (..., 144), the starter's hog_feature for every image
    g = gray(ims)
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[..., :, :-1] = np.diff(g, n=1, axis=-1)
    gy[..., :-1, :] = np.diff(g, n=1, axis=-2)
    mag = np.sqrt(gx ** 2 + gy ** 2)
    ori = np.arctan2(gy, gx + 1e-15) * (180 / np.pi) + 90
    out = []
    for i in range(9):
        keep = (ori < 20 * (i + 1)) & (ori >= 20 * i) & (ori > 0)
        cells = box_mean(np.where(keep, mag, 0))[..., 4::8, 4::8]
        out.append(np.swapaxes(cells, -1, -2))
    return np.stack(out, axis=-1).reshape(g.shape[:-2] + (-1,))

def hue(ims):
    arr = ims.astype(np.float64) / 255
    mx = arr.max(-1)
    delta = np.ptp(arr, -1)
    h = np.zeros(arr.shape[:-1])
    pos = delta > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (arr[..., 1] - arr[..., 2]) / delta
        g = 2.0 + (arr[..., 2] - arr[..., 0]) / delta
        b = 4.0 + (arr[..., 0] - arr[..., 1]) / delta
    h = np.where((arr[..., 0] == mx) & pos, r, h)
    h = np.where((arr[..., 1] == mx) & pos, g, h)
    h = np.where((arr[..., 2] == mx) & pos, b, h)
    return ((h / 6.0) % 1.0) * 255

def hist_one(im):
    counts, edges = np.histogram(hue(im), bins=EDGES, density=True)
    return counts * np.diff(edges)

def hist_batch(ims):
    hh = hue(ims).reshape(ims.shape[0], -1)
    k = np.clip(np.searchsorted(EDGES, hh, side="right") - 1, 0, 9)
    counts = np.zeros((ims.shape[0], 10))
    np.add.at(counts, (np.arange(ims.shape[0])[:, None], k), 1)
    return counts / counts.sum(axis=1, keepdims=True)

per_image = {
    "hog": lambda: np.stack([hog(im) for im in imgs]),
    "hist": lambda: np.stack([hist_one(im) for im in imgs]),
    "both": lambda: np.stack([np.concatenate([hog(im), hist_one(im)]) for im in imgs]),
}
batched = {"hog": lambda: hog(imgs), "hist": lambda: hist_batch(imgs), "both": lambda: np.concatenate([hog(imgs), hist_batch(imgs)], axis=1)}
res["feat"] = {}
for name in ("hog", "hist", "both"):
    t1, a = best_of(f["reps"], f["warm"], per_image[name])
    t2, b = best_of(f["reps"], f["warm"], batched[name])
    if name == "both":
        a.astype(np.float64).tofile(f["out"])
    res["feat"][name] = {"perImage": t1, "batched": t2, "batchVsLoop": float(np.abs(a - b).max())}
# How many images get different HOG features when the gray image comes from np.dot (BLAS).
dot_diff = np.abs(hog(imgs, gray_dot) - hog(imgs)).max(axis=1)
res["dot"] = {"images": int((dot_diff > 1e-9).sum()), "maxDiff": float(dot_diff.max()), "gray": int((gray_dot(imgs) != gray_seq(imgs)).sum())}
print(json.dumps(res))
`;

interface NumpyResult {
  numpy: string;
  net: { t: number; loss: number; norms: Record<string, number> };
  feat: Record<'hog' | 'hist' | 'both', { perImage: number; batched: number; batchVsLoop: number }>;
  /** HOG with the gray image from np.dot (OpenBLAS) instead of the left-to-right sum. */
  dot: { images: number; maxDiff: number; gray: number };
}

function runNumpy(cfg: unknown): NumpyResult | { error: string } {
  return runNumpyJson<NumpyResult>(NUMPY_SCRIPT, cfg);
}

const fmtT = (t: number | null) => (t === null ? 'n/a' : t < 1 ? `${(t * 1000).toFixed(1)} ms` : `${t.toFixed(2)} s`);
const ratio = (a: number, b: number | null | undefined) => (b === null || b === undefined ? 'n/a' : `${(a / b).toFixed(1)}×`);
function frob(a: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * a.data[i];
  return Math.sqrt(s);
}

/** Replaces (or appends) only this bench's section of RESULTS.md. */
function writeSection(body: string): void {
  writeResultsSection(SECTION, body, RESULTS);
}

const FEATURE_SETS: Record<'hog' | 'hist' | 'both', { label: string; fns: FeatureFn[] }> = {
  hog: { label: 'HOG (144 values)', fns: [hogFeature] },
  hist: { label: 'hue histogram (nbin 10)', fns: [(im) => colorHistogramHsv(im, { nbin: 10 })] },
  both: { label: 'HOG + hue histogram (154 values)', fns: [hogFeature, (im) => colorHistogramHsv(im, { nbin: 10 })] },
};

function main(): void {
  const load0 = os.loadavg()[0];
  const started = new Date();
  const log = (s: string) => console.log(s);
  const problems: string[] = [];

  // ---- ours: the net
  const { X, y, net } = netData();
  let out: ReturnType<TwoLayerNet['loss']> | null = null;
  const tNet = bestOf(NET.reps, () => {
    out = net.loss(X, y, NET.reg);
  }, { runs: NET.warm });
  const ours = out as unknown as { loss: number; grads: Record<string, Tensor> };
  log(`ours two-layer net loss + gradients: ${fmtT(tNet)} (loss ${ours.loss.toFixed(9)})`);

  // ---- ours: features of the same 1000 images numpy will read
  const best = loadBestDataset({ path: MINI });
  const ds = best.dataset;
  if (ds.Xtr.shape[0] < FEAT.n || ds.Xtr.shape.slice(1).join('x') !== '32x32x3') throw new Error(`${MINI}: expected at least ${FEAT.n} 32×32×3 training images`);
  const bytes = new Uint8Array(FEAT.n * 3072);
  for (let i = 0, k = 0; i < FEAT.n; i++) for (let r = 0; r < 32; r++) for (let c = 0; c < 32; c++) for (let ch = 0; ch < 3; ch++) bytes[k++] = ds.Xtr.get(i, r, c, ch);
  const imgs = ndarray(bytes, [FEAT.n, 32, 32, 3]);
  const featOurs: Record<string, { t: number; F: Tensor }> = {};
  for (const [name, set] of Object.entries(FEATURE_SETS)) {
    let F: Tensor | null = null;
    const t = bestOf(FEAT.reps, () => {
      F = extractFeatures(imgs, set.fns, { progress: false });
    }, { runs: FEAT.warm });
    featOurs[name] = { t, F: F as unknown as Tensor };
    log(`ours ${set.label}, ${FEAT.n} images: ${fmtT(t)}`);
  }

  // ---- numpy
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-bench-'));
  const imagesFile = path.join(dir, 'images.u8');
  const featFile = path.join(dir, 'features.f64');
  fs.writeFileSync(imagesFile, bytes);
  log('running numpy (same data, same computations)…');
  const np = runNumpy({ net: NET, feat: { n: FEAT.n, reps: FEAT.reps, warm: FEAT.warm, images: imagesFile, out: featFile } });
  const npOk = 'error' in np ? null : np;
  if ('error' in np) problems.push(`numpy: ${np.error}`);
  const load1 = os.loadavg()[0];

  // ---- agreement
  if (npOk) {
    const relLoss = Math.abs(npOk.net.loss - ours.loss) / Math.abs(npOk.net.loss);
    if (relLoss > 1e-12) problems.push(`net loss ${ours.loss} vs numpy ${npOk.net.loss}`);
    for (const name of TWO_LAYER_NET_PARAM_NAMES) {
      const a = frob(ours.grads[name]);
      const b = npOk.net.norms[name];
      if (Math.abs(a - b) > 1e-9 * Math.max(b, 1e-300)) problems.push(`‖d${name}‖ ${a} vs numpy ${b}`);
    }
    const buf = fs.readFileSync(featFile);
    // A Buffer may sit at an offset inside a larger pooled ArrayBuffer: copy exactly its bytes.
    const ref = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const F = featOurs.both.F.data;
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < F.length; i++) {
      worst = Math.max(worst, Math.abs(F[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    if (ref.length !== F.length || worst > 1e-9 * scale) problems.push(`features differ from numpy: max |diff| ${worst} (largest value ${scale})`);
    else log(`features agree with numpy: max |diff| ${worst.toExponential(2)} (largest value ${scale.toFixed(2)})`);
    for (const [name, r] of Object.entries(npOk.feat)) if (r.batchVsLoop > 1e-9) problems.push(`numpy ${name}: batched and per-image results differ by ${r.batchVsLoop}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });

  // ---- tables
  const netRows = [
    '| loss + gradients | N × D → H → C | ours | numpy | ours / numpy |',
    '| --- | --- | ---: | ---: | ---: |',
    `| TwoLayerNet (float64) | ${NET.N} × ${NET.D} → ${NET.H} → ${NET.C} | ${fmtT(tNet)} | ${fmtT(npOk?.net.t ?? null)} | ${ratio(tNet, npOk?.net.t)} |`,
  ];
  const featRows = [
    `| features of ${FEAT.n} images (32×32×3) | ours | numpy, one image at a time | numpy, whole batch | ours / numpy per image | ours / numpy batch |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, set] of Object.entries(FEATURE_SETS) as Array<['hog' | 'hist' | 'both', (typeof FEATURE_SETS)['hog']]>) {
    const o = featOurs[name].t;
    const n = npOk?.feat[name];
    featRows.push(`| ${set.label} | ${fmtT(o)} | ${fmtT(n?.perImage ?? null)} | ${fmtT(n?.batched ?? null)} | ${ratio(o, n?.perImage)} | ${ratio(o, n?.batched)} |`);
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const body = [
    `Command: \`${COMMAND}\` (${started.toISOString()})`,
    '',
    `Machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}; ours: pure-TS path, core matmul on ${threadCount()} thread(s); ` +
      `numpy ${npOk?.numpy ?? 'n/a'} in a python3 child with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset.`,
    '',
    netRows.join('\n'),
    '',
    `Net: X ~ U(−128, 128) (like mean-subtracted pixels), W1, W2 = ${NET.std}·randn drawn after X from the same MT19937 RandomState(0), reg ${NET.reg}; ` +
      `both sides compute the scores, the softmax loss with L2, and every gradient including the first layer's dx (cs231n's layer stack computes it). ` +
      `Best of ${NET.reps} runs after ${NET.warm} warm-up runs.`,
    '',
    featRows.join('\n'),
    '',
    `Features: the first ${FEAT.n} training images of cifar-10-mini, the same bytes on both sides. numpy (no scipy): HOG by the starter's steps with its ` +
      'uniform filter as a cumulative-sum box filter over the whole symmetric-padded image (what scipy\'s filter computes), sampled at the cell centres; ' +
      'the hue by matplotlib\'s rgb_to_hsv rules, binned with np.histogram (per image) or searchsorted + add.at (batch). ' +
      `"One image at a time" is the starter's extract_features loop; "whole batch" runs each numpy operation once on all ${FEAT.n} images. ` +
      `Ours is extractFeatures (one image at a time). Best of ${FEAT.reps} runs after ${FEAT.warm} warm-up run.`,
    '',
    'The gray image is summed left to right, (0.299·R + 0.587·G) + 0.144·B, on both sides (SPEC §6, what the starter\'s np.dot gives with a ' +
      'plain dot kernel). ' +
      (npOk
        ? `With np.dot itself under this OpenBLAS (OPENBLAS_CORETYPE unset, so its SkylakeX kernel, which combines the three products in a different order or with fused multiply-adds), ${npOk.dot.gray} of the ` +
          `${FEAT.n}·32·32 gray pixels round differently and ${npOk.dot.images} of the ${FEAT.n} images get different HOG features ` +
          `(up to ${npOk.dot.maxDiff.toPrecision(3)}): a last-bit change of the gray value moves a gradient across an orientation-bin edge, ` +
          'so the starter\'s features are not bitwise reproducible across BLAS kernels.'
        : ''),
    '',
    `Load average (1 min) was ${load0.toFixed(2)} at the start and ${load1.toFixed(2)} at the end: the 2 cores are shared with other work, so both columns may be slowed.`,
    ...(problems.length
      ? ['', ...problems.map((p) => `- ${p}`)]
      : ['', 'All results agree with numpy (loss to 1e−12 and gradient norms to 1e−9 relative; the 154 features of every image to 1e−9 of the largest value).']),
  ].join('\n');
  writeSection(body);
  log(`\n${netRows.join('\n')}\n\n${featRows.join('\n')}`);
  if (problems.length) log(`\nproblems:\n${problems.join('\n')}`);
  log(`load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}; wrote ${path.relative(process.cwd(), RESULTS)} (${SECTION})`);
}

main();
