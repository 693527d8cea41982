import type { DType } from '../core/dtype';
import { zeros } from '../core/tensor';
import { noGrad } from './gradMode';
import { addForwardHook, type Module } from './module';

/** One module call in a {@link summary}. */
export interface SummaryRow {
  /** Dotted name ('' for the model itself). */
  name: string;
  /** Class name. */
  type: string;
  /** Nesting depth (0 for the model). */
  depth: number;
  /** Output shape for one image (batch axis left out). */
  outputShape: number[];
  /** Parameters of this module and its descendants (0 at a second call of the same module). */
  params: number;
  /** Multiply-accumulates of this module's own conv/linear arithmetic for one image. */
  macs: number;
}

/** What {@link summary} returns. */
export interface ModelSummary {
  rows: SummaryRow[];
  params: number;
  trainableParams: number;
  /** Conv + linear multiply-accumulates for one image, as torchvision's `_ops` counts them. */
  macs: number;
  /** A torchinfo-like table. */
  toString(): string;
}

/**
 * Layer-by-layer table of a model for one input of `inputShape` (`[C, H, W]`, batch left out):
 * each module call with its output shape, parameters and MACs, and the totals.
 *
 * WHY a batch of zero images: every op then does no arithmetic at all yet computes its output
 * shape, so the summary of EfficientNet-B7 at 600×600 (38 GMACs) costs milliseconds. The model
 * runs in eval mode under noGrad and is put back in its previous mode.
 */
export function summary(model: Module, inputShape: readonly number[], opts: { dtype?: DType } = {}): ModelSummary {
  if (!Array.isArray(inputShape) || inputShape.length < 1 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new RangeError(`inputShape: expected positive integer dimensions without the batch axis, e.g. [3, 224, 224], got ${JSON.stringify(inputShape)}`);
  }
  const names = new Map<Module, string>();
  for (const [n, m] of model.namedModules()) names.set(m, n);
  const firstParam = model.parameters()[0];
  const dtype = opts.dtype ?? (firstParam && firstParam.data.data instanceof Float64Array ? 'float64' : 'float32');
  const rows: SummaryRow[] = [];
  const counted = new Set<Module>();
  const open: Array<{ row: SummaryRow }> = [];
  let depth = 0;
  const modes = new Map(model.modules().map((m) => [m, m.training]));
  const remove = addForwardHook({
    pre: (m) => {
      const name = names.get(m) ?? '(unregistered)';
      const params = counted.has(m) ? 0 : m.numParameters();
      counted.add(m);
      const row: SummaryRow = { name, type: m.constructor.name, depth, outputShape: [], params, macs: 0 };
      rows.push(row);
      open.push({ row });
      depth++;
    },
    post: (m, x, out) => {
      depth--;
      const { row } = open.pop()!;
      row.outputShape = out.shape.slice(1);
      row.macs = m.countMacs([1, ...x.shape.slice(1)], [1, ...out.shape.slice(1)]);
    },
  });
  try {
    model.eval();
    noGrad(() => model.forward(zeros([0, ...inputShape], dtype)));
  } finally {
    remove();
    for (const [m, t] of modes) m.training = t;
  }
  const params = model.numParameters();
  const trainableParams = model.numParameters(true);
  const macs = rows.reduce((a, r) => a + r.macs, 0);
  return {
    rows, params, trainableParams, macs,
    toString: () => formatSummary(rows, inputShape, params, trainableParams, macs),
  };
}

const int = (n: number): string => n.toLocaleString('en-US');

function formatSummary(rows: SummaryRow[], inputShape: readonly number[], params: number, trainable: number, macs: number): string {
  const head = ['Layer (type)', 'Output shape', 'Params', 'MACs'];
  const body = rows.map((r) => [
    `${'  '.repeat(r.depth)}${r.name ? `${r.name} ` : ''}(${r.type})`,
    `[${r.outputShape.join(', ')}]`,
    r.params ? int(r.params) : '-',
    r.macs ? int(r.macs) : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = '='.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [
    rule, line(head), rule, ...body.map(line), rule,
    `Input: [${inputShape.join(', ')}]`,
    `Total params: ${int(params)}`,
    `Trainable params: ${int(trainable)}`,
    `Non-trainable params: ${int(params - trainable)}`,
    `MACs (conv + linear): ${int(macs)} (${(macs / 1e9).toFixed(3)} G)`,
    rule,
  ].join('\n');
}
