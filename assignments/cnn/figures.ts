import path from 'node:path';
import { copy, transpose, type Tensor } from '../../src/core/tensor';
import { visualizeGrid, writePng } from '../../src/vis/grid';
import { lineSpec, writeSvg, type VegaLiteSpec } from '../../src/vis/plot';
import type { Report } from '../../src/vis/report';

/*
 * The book's matplotlib figures as vega-lite specs (rendered to SVG by src/vis/plot.ts) and
 * PNG grids (src/vis/grid.ts): contour lines with an optimizer's path, histograms, lines, and
 * small multiples (the 4×4 batch-norm grid).
 */

/** Writes a spec as `<outDir>/<file>` and adds it to the report. */
export async function figure(report: Report, outDir: string, file: string, caption: string, spec: VegaLiteSpec): Promise<void> {
  await writeSvg(path.join(outDir, file), { ...spec, title: spec.title ?? caption });
  report.figure(file, caption);
}

/** Line plot from named series (x defaults to 0, 1, …). */
export function lines(series: Array<{ name: string; y: ArrayLike<number>; x?: ArrayLike<number> }>, opts: { title?: string; xLabel: string; yLabel: string; yMin?: number; yMax?: number; dashed?: string[] }): VegaLiteSpec {
  const spec = lineSpec(series.map((s) => ({ name: s.name, x: s.x ?? Array.from({ length: s.y.length }, (_, i) => i), y: s.y })), { title: opts.title, xLabel: opts.xLabel, yLabel: opts.yLabel });
  const enc = spec.encoding as Record<string, Record<string, unknown>>;
  if (opts.yMin !== undefined || opts.yMax !== undefined) enc.y.scale = { domain: [opts.yMin ?? 0, opts.yMax ?? 1], clamp: true };
  if (opts.dashed) enc.strokeDash = { condition: { test: `indexof(${JSON.stringify(opts.dashed)}, datum.series) >= 0`, value: [4, 3] }, value: [1, 0] };
  return spec;
}

/**
 * Contour lines of f(x, y) = x²/20 + y² (ellipses x = √(20c)·cos θ, y = √c·sin θ) with an
 * optimizer's path from (−7, 2) drawn over them, as in the book's Figure 6-8.
 */
export function contourPathSpec(pathXY: Array<[number, number]>, title: string): VegaLiteSpec {
  const levels = [0.05, 0.2, 0.5, 1, 2, 3.5, 5, 7.5, 10];
  const contour: Array<{ x: number; y: number; level: number; k: number }> = [];
  for (const c of levels) {
    for (let k = 0; k <= 120; k++) {
      const th = (2 * Math.PI * k) / 120;
      const x = Math.sqrt(20 * c) * Math.cos(th);
      const y = Math.sqrt(c) * Math.sin(th);
      if (Math.abs(x) <= 10 && Math.abs(y) <= 5) contour.push({ x, y, level: c, k });
    }
  }
  const pts = pathXY.map(([x, y], k) => ({ x, y, k }));
  const x = { field: 'x', type: 'quantitative', scale: { domain: [-10, 10] }, title: 'x' };
  const y = { field: 'y', type: 'quantitative', scale: { domain: [-5, 5] }, title: 'y' };
  return {
    title,
    width: 300,
    height: 220,
    background: 'white',
    layer: [
      { data: { values: contour }, mark: { type: 'line', strokeWidth: 0.8, color: '#9bb' }, encoding: { x, y, detail: { field: 'level' }, order: { field: 'k' } } },
      { data: { values: pts }, mark: { type: 'line', point: { filled: true, size: 14, color: 'red' }, color: 'red', strokeWidth: 1 }, encoding: { x, y, order: { field: 'k' } } },
      { data: { values: [{ x: 0, y: 0 }] }, mark: { type: 'point', shape: 'cross', size: 80, color: 'black' }, encoding: { x, y } },
    ],
  };
}

/** Side-by-side panels (`hconcat`, wrapped into rows of `perRow`). */
export function panels(specs: VegaLiteSpec[], perRow: number, title?: string): VegaLiteSpec {
  const rows: VegaLiteSpec[] = [];
  for (let i = 0; i < specs.length; i += perRow) rows.push({ hconcat: specs.slice(i, i + perRow).map(({ background: _b, ...s }) => s) });
  return { ...(title ? { title } : {}), background: 'white', vconcat: rows };
}

/** Histogram of `values` over [lo, hi] in `bins` bins (the book's plt.hist(a.flatten(), 30, range=(0, 1))). */
export function histogramSpec(values: ArrayLike<number>, opts: { title: string; bins: number; lo: number; hi: number; width?: number; height?: number }): VegaLiteSpec {
  const counts = new Array<number>(opts.bins).fill(0);
  const w = (opts.hi - opts.lo) / opts.bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= opts.lo && v <= opts.hi)) continue;
    counts[Math.min(opts.bins - 1, Math.floor((v - opts.lo) / w))]++;
  }
  const data = counts.map((c, i) => ({ a: opts.lo + i * w, b: opts.lo + (i + 1) * w, c }));
  return {
    title: opts.title,
    width: opts.width ?? 150,
    height: opts.height ?? 120,
    background: 'white',
    data: { values: data },
    mark: 'rect',
    encoding: {
      x: { field: 'a', type: 'quantitative', scale: { domain: [opts.lo, opts.hi] }, title: null },
      x2: { field: 'b' },
      y: { field: 'c', type: 'quantitative', title: null },
    },
  };
}

/** Filters `(F, C, h, w)` as a PNG grid, `cols` per row, each min-max scaled (the book shows them in gray). */
export function writeFilterGrid(report: Report, outDir: string, file: string, caption: string, W: Tensor, cols: number): void {
  const grid = visualizeGrid(transpose(W, [0, 2, 3, 1]), { cols, padding: 1 });
  writePng(path.join(outDir, file), grid, { scale: 8 });
  report.figure(file, caption);
}

/**
 * Images `(N, 1, H, W)` as a PNG grid, `cols` per row, each tile min-max scaled; with `raw`,
 * values in [0, 1] are drawn as they are (0 black, 1 white), so brightness changes show.
 */
export function writeImageGrid(report: Report, outDir: string, file: string, caption: string, X: Tensor, cols: number, scale = 3, raw = false): void {
  let src = X;
  if (raw) {
    src = copy(X, 'float64');
    for (let i = 0; i < src.data.length; i++) src.data[i] *= 255;
  }
  const tiles = transpose(src, [0, 2, 3, 1]);
  const grid = visualizeGrid(tiles, { cols, padding: 2, ubound: 255, normalize: !raw });
  writePng(path.join(outDir, file), grid, { scale });
  report.figure(file, caption);
}
