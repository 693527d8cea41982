import * as path from 'path';
import ndarray from 'ndarray';
import type { ByteTensor } from '../core/tensor';
import type { ImageDataset } from '../data/dataset';
import { writeFileAtomic } from '../util/atomicWrite';
import { visualizeGrid, writePng } from '../vis/grid';

/** Sample images laid out one class per row. */
export interface SampleSheet {
  /** (classes × perClass, H, W, C) uint8; a class with fewer images has blank tiles. */
  images: ByteTensor;
  /** Class name of each grid row. */
  rowNames: string[];
  /** Training-set index of each tile, -1 for a blank one. */
  indices: number[];
  perClass: number;
}

/**
 * The first `perClass` training images of each class, in class order (rows) and dataset
 * order (columns) — deterministic, so the same data always gives the same sheet.
 */
export function pickSamples(ds: ImageDataset, perClass = 4): SampleSheet {
  const [N, H, W, C] = ds.Xtr.shape;
  const K = ds.classNames.length;
  const tile = H * W * C;
  const out = new Uint8Array(K * perClass * tile);
  const indices = new Array<number>(K * perClass).fill(-1);
  const count = new Array<number>(K).fill(0);
  const y = ds.ytr;
  const X = ds.Xtr;
  let left = K * perClass;
  for (let i = 0; i < N && left > 0; i++) {
    const c = y.get(i);
    if (c < 0 || c >= K || count[c] >= perClass) continue;
    const slot = c * perClass + count[c]++;
    indices[slot] = i;
    left--;
    const src = X.data.subarray(X.offset + i * tile, X.offset + (i + 1) * tile);
    out.set(src, slot * tile);
  }
  return { images: ndarray(out, [K * perClass, H, W, C]), rowNames: ds.classNames.slice(), indices, perClass };
}

/** Files written by {@link writeSampleSheet}. */
export interface SampleFiles {
  png: string;
  txt: string;
  html: string;
  /** PNG size in pixels. */
  width: number;
  height: number;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);
}

/**
 * Writes `samples.png` (the sheet, raw pixel values, upscaled ×`scale`), `samples.txt` (the
 * class name of each grid row) and `samples.html` (the image with the names beside its rows)
 * into `outDir`.
 */
export function writeSampleSheet(outDir: string, ds: ImageDataset, sheet: SampleSheet, scale = 2): SampleFiles {
  const padding = 1;
  const grid = visualizeGrid(sheet.images, { cols: sheet.perClass, padding, normalize: false });
  const png = path.join(outDir, 'samples.png');
  writePng(png, grid, { scale });
  const [gh, gw] = grid.shape;
  const lines = [
    `${ds.name} from ${ds.source}: first ${sheet.perClass} training images of each class, one class per row of samples.png`,
    ...sheet.rowNames.map((n, r) => `row ${r + 1}: ${n} (training indices ${sheet.indices.slice(r * sheet.perClass, (r + 1) * sheet.perClass).filter((i) => i >= 0).join(', ') || 'none'})`),
  ];
  const txt = path.join(outDir, 'samples.txt');
  writeFileAtomic(txt, lines.join('\n') + '\n');
  const rowPx = (ds.Xtr.shape[1] + padding) * scale;
  const names = sheet.rowNames
    .map((n) => `<div style="height:${rowPx}px;line-height:${ds.Xtr.shape[1] * scale}px">${escapeHtml(n)}</div>`)
    .join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(ds.name)} samples</title></head>
<body style="font-family:sans-serif">
<h1>${escapeHtml(ds.name)} samples</h1>
<p>${escapeHtml(lines[0])}</p>
<div style="display:flex;gap:12px;align-items:flex-start">
<div style="text-align:right">
${names}
</div>
<img src="samples.png" width="${gw * scale}" height="${gh * scale}" alt="${escapeHtml(ds.name)} sample grid" style="image-rendering:pixelated">
</div>
</body></html>
`;
  const htmlFile = path.join(outDir, 'samples.html');
  writeFileAtomic(htmlFile, html);
  return { png, txt, html: htmlFile, width: gw * scale, height: gh * scale };
}
