import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Report } from '../src/vis/report';
import { barSpec, errorBarSpec, heatmapSpec, lineSpec, renderSvg, writeSvg } from '../src/vis/plot';
import { writeFileAtomic } from '../src/util/atomicWrite';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-report-'));

describe('Report', () => {
  test('prints checks in the notebook format and judges them', () => {
    const lines: string[] = [];
    const r = new Report('Test', tmp(), { print: (l) => lines.push(l) });
    expect(r.check('loss', 1.30378789133, 1.30378789133, { absTol: 1e-12 })).toBe(true);
    expect(r.check('rel', 1.0, 1.1, { relTol: 1e-3 })).toBe(false);
    expect(r.check('small', 1e-9, 0, { lessThan: 1e-7 })).toBe(true);
    expect(r.check('band', 0.3, 0.29, { between: [0.25, 0.35] })).toBe(true);
    expect(lines[0]).toBe('loss: 1.30378789133 (reference 1.30378789133) OK');
    expect(lines[1]).toBe('rel: 1 (reference 1.1) FAIL');
    expect(lines[2]).toBe('small: 1e-9 (reference < 1e-7) OK');
    expect(r.failures).toEqual(['rel']);
  });

  test('report.html holds the checks, tables and figures', async () => {
    const dir = tmp();
    const r = new Report('Plots', dir, { print: () => undefined });
    r.section('Curves');
    await writeSvg(path.join(dir, 'loss.svg'), lineSpec([{ name: 'loss', x: [0, 1, 2], y: [3, 2, 1] }], { title: 'Loss' }));
    r.figure('loss.svg', 'training loss');
    r.table(['k', 'acc'], [[1, 0.274]]);
    r.check('x', 2, 2);
    const file = r.write();
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<img src="loss.svg"');
    expect(html).toContain('x: 2 (reference 2) OK');
    expect(html).toContain('<td>0.274</td>');
    expect(html).toContain('1 checks, 0 failed');
  });
});

describe('plots', () => {
  test('render to SVG with the data in them', async () => {
    const dir = tmp();
    const svg1 = await writeSvg(path.join(dir, 'cv.svg'), errorBarSpec([{ x: 1, samples: [0.2, 0.3] }, { x: 3, samples: [0.25, 0.27] }], { title: 'CV accuracy' }));
    expect(svg1.startsWith('<svg')).toBe(true);
    expect(svg1).toContain('CV accuracy');
    const svg2 = await writeSvg(path.join(dir, 'hm.svg'), heatmapSpec(['1e-7', '1e-6'], ['2.5e4', '5e4'], [[0.3, 0.35], [0.2, 0.1]], { title: 'val acc' }));
    expect(svg2).toContain('0.350');
    expect(fs.existsSync(path.join(dir, 'hm.svg'))).toBe(true);
  });
  test('bars on a log scale (the kNN timing chart) each have a visible height, ordered by value', async () => {
    const bars = [{ label: 'two loops', value: 2.5 }, { label: 'one loop', value: 0.8 }, { label: 'no loops', value: 0.012 }];
    for (const logY of [true, false]) {
      const svg = await renderSvg(barSpec(bars, { logY }));
      const heights = bars.map((b) => {
        const m = new RegExp(`aria-label="label: ${b.label}; value: ${b.value}"[^>]* d="M[\\d.]+,[\\d.]+h[\\d.]+v([\\d.]+)h`).exec(svg);
        expect(m).not.toBeNull();
        return Number(m![1]);
      });
      heights.forEach((h) => expect(h).toBeGreaterThan(1));
      expect(heights[0]).toBeGreaterThan(heights[1]);
      expect(heights[1]).toBeGreaterThan(heights[2]);
    }
  });
  test('lineSpec rejects series with mismatched lengths', () => {
    expect(() => lineSpec([{ name: 'a', x: [1, 2], y: [1] }])).toThrow(/series a: x has 2 values but y has 1/);
  });
});

describe('writeFileAtomic', () => {
  test('replaces the whole file and leaves no temp files', () => {
    const dir = tmp();
    const f = path.join(dir, 'a.txt');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    expect(fs.readFileSync(f, 'utf8')).toBe('two');
    expect(fs.readdirSync(dir)).toEqual(['a.txt']);
  });
});
