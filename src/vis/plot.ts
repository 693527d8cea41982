import * as vega from 'vega';
import * as vl from 'vega-lite';
import { writeFileAtomic } from '../util/atomicWrite';

/*
 * Plots are vega-lite specs rendered to SVG without a browser or canvas: the figures a
 * notebook would show with matplotlib, as files a person opens (or report.html embeds).
 */

/** A vega-lite top-level spec (kept loose: vega-lite's own types are very wide). */
export type VegaLiteSpec = Record<string, unknown>;

/** Renders a vega-lite spec to an SVG string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec } as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders `spec` and writes it to `file` atomically; returns the SVG. */
export async function writeSvg(file: string, spec: VegaLiteSpec): Promise<string> {
  const svg = await renderSvg(spec);
  writeFileAtomic(file, svg);
  return svg;
}

/** One line of a line plot. */
export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** Options shared by the plot builders. */
export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic x axis. */
  logX?: boolean;
  /** Logarithmic y axis. */
  logY?: boolean;
  width?: number;
  height?: number;
  /** Draw points as well as lines. */
  points?: boolean;
}

function base(opts: PlotOptions): VegaLiteSpec {
  return {
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 480,
    height: opts.height ?? 300,
    background: 'white',
  };
}

/** Lines (e.g. loss vs iteration, train/val accuracy vs epoch); one colour per series. */
export function lineSpec(series: Series[], opts: PlotOptions = {}): VegaLiteSpec {
  const values: Array<{ x: number; y: number; series: string }> = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new RangeError(`series ${s.name}: x has ${s.x.length} values but y has ${s.y.length}`);
    for (let i = 0; i < s.x.length; i++) {
      if (Number.isFinite(s.y[i]) && Number.isFinite(s.x[i])) values.push({ x: s.x[i], y: s.y[i], series: s.name });
    }
  }
  return {
    ...base(opts),
    data: { values },
    mark: { type: 'line', point: opts.points ?? false, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.xLabel ?? 'x', scale: opts.logX ? { type: 'log' } : { zero: false } },
      y: { field: 'y', type: 'quantitative', title: opts.yLabel ?? 'y', scale: opts.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: series.length > 1 ? {} : null },
    },
  };
}

/** Points with mean ± std error bars, e.g. cross-validation accuracy vs k. */
export function errorBarSpec(
  points: Array<{ x: number; samples: number[] }>,
  opts: PlotOptions = {},
): VegaLiteSpec {
  const raw = points.flatMap((p) => p.samples.map((v) => ({ x: p.x, y: v })));
  const stats = points.map((p) => {
    const n = p.samples.length;
    const m = p.samples.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(p.samples.reduce((a, b) => a + (b - m) * (b - m), 0) / n);
    return { x: p.x, mean: m, lo: m - sd, hi: m + sd };
  });
  const x = { field: 'x', type: 'quantitative', title: opts.xLabel ?? 'x', scale: opts.logX ? { type: 'log' } : {} };
  return {
    ...base(opts),
    layer: [
      { data: { values: raw }, mark: { type: 'point', opacity: 0.5 }, encoding: { x, y: { field: 'y', type: 'quantitative', title: opts.yLabel ?? 'y', scale: { zero: false } } } },
      { data: { values: stats }, mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: opts.yLabel ?? 'y' }, y2: { field: 'hi' } } },
      { data: { values: stats }, mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: opts.yLabel ?? 'y' } } },
    ],
  };
}

/** A heat map of `values[row][col]`, e.g. validation accuracy over learning rate × regularization. */
export function heatmapSpec(
  rows: Array<string | number>,
  cols: Array<string | number>,
  values: number[][],
  opts: PlotOptions & { valueLabel?: string } = {},
): VegaLiteSpec {
  const data: Array<{ row: string; col: string; v: number | null }> = [];
  rows.forEach((r, i) => cols.forEach((c, j) => data.push({ row: String(r), col: String(c), v: Number.isFinite(values[i]?.[j]) ? values[i][j] : null })));
  return {
    ...base(opts),
    data: { values: data },
    encoding: {
      x: { field: 'col', type: 'ordinal', title: opts.xLabel ?? '', sort: cols.map(String) },
      y: { field: 'row', type: 'ordinal', title: opts.yLabel ?? '', sort: rows.map(String) },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'v', type: 'quantitative', title: opts.valueLabel ?? 'value', scale: { scheme: 'viridis' } } } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'v', type: 'quantitative', format: '.3f' }, color: { value: 'white' } } },
    ],
  };
}

/** Bars per category (e.g. timings of the three distance versions); on a log scale, values <= 0 cannot be drawn and are left out. */
export function barSpec(bars: Array<{ label: string; value: number }>, opts: PlotOptions = {}): VegaLiteSpec {
  const x = { field: 'label', type: 'nominal', title: opts.xLabel ?? '', sort: null };
  const y = { field: 'value', type: 'quantitative', title: opts.yLabel ?? '' };
  if (!opts.logY) return { ...base(opts), data: { values: bars }, mark: 'bar', encoding: { x, y: { ...y, scale: {} } } };
  // A bar grows from 0, which a log scale cannot show: every bar would have zero height. On a
  // log scale the bars grow instead from the power of ten below the smallest value.
  const positive = bars.map((b) => b.value).filter((v) => v > 0 && Number.isFinite(v));
  const floor = positive.length ? 10 ** Math.floor(Math.log10(Math.min(...positive))) : 1;
  return {
    ...base(opts),
    data: { values: bars.filter((b) => b.value > 0 && Number.isFinite(b.value)) },
    mark: 'bar',
    encoding: { x, y: { ...y, scale: { type: 'log', domainMin: floor } }, y2: { datum: floor } },
  };
}
