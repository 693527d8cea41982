import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite';

/*
 * What an assignment script shows a person: every notebook check printed as
 * `name: ours (reference ref) OK|FAIL`, and a report.html that puts the figures beside the
 * printed numbers, section by section, in the order the notebook has them.
 */

/** How a check's value is compared with its reference. */
export interface CheckOptions {
  /** Pass when |ours − ref| ≤ absTol. */
  absTol?: number;
  /** Pass when |ours − ref| / max(1e-8, |ours| + |ref|) ≤ relTol. */
  relTol?: number;
  /** Pass when ours < this (ref is then shown as `< x`). */
  lessThan?: number;
  /** Pass when ours lies in [lo, hi]. */
  between?: [number, number];
  /** Decide pass/fail yourself (for non-numeric checks). */
  ok?: boolean;
  /** How to print numbers (default: up to 12 significant digits). */
  digits?: number;
}

/** One printed check. */
export interface CheckResult {
  name: string;
  ours: string;
  ref: string;
  ok: boolean;
}

type Item =
  | { kind: 'check'; check: CheckResult }
  | { kind: 'text'; text: string }
  | { kind: 'figure'; file: string; caption: string }
  | { kind: 'table'; header: string[]; rows: Array<Array<string | number>> };

interface Section {
  title: string;
  items: Item[];
}

function fmt(v: unknown, digits = 12): string {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    // Shortest form that keeps `digits` significant digits: 1e-8 prints as 1e-8, not 1.00000e-8.
    return a !== 0 && (a < 1e-4 || a >= 1e6) ? Number(v.toPrecision(Math.min(digits, 6))).toExponential() : String(Number(v.toPrecision(digits)));
  }
  if (Array.isArray(v)) return `[${v.map((x) => fmt(x, digits)).join(', ')}]`;
  return String(v);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Collects the output of one assignment script and writes `report.html`. */
export class Report {
  private readonly sections: Section[] = [];
  private readonly log: (line: string) => void;

  /**
   * @param title   the notebook's name, e.g. "k-Nearest Neighbor (kNN)"
   * @param outDir  where figures and report.html are written (created if needed)
   * @param opts.print  where lines go (default console.log); pass `() => {}` in tests
   */
  constructor(readonly title: string, readonly outDir: string, opts: { print?: (line: string) => void } = {}) {
    fs.mkdirSync(outDir, { recursive: true });
    this.log = opts.print ?? ((line) => console.log(line));
    this.section(title);
  }

  /** Starts a new section (a notebook heading). */
  section(title: string): void {
    this.sections.push({ title, items: [] });
    if (this.sections.length > 1) this.log(`\n== ${title} ==`);
  }

  private add(item: Item): void {
    this.sections[this.sections.length - 1].items.push(item);
  }

  /** Prints and records a line of text. */
  text(line: string): void {
    this.log(line);
    this.add({ kind: 'text', text: line });
  }

  /** Compares `ours` with `ref` and prints `name: ours (reference ref) OK|FAIL`. */
  check(name: string, ours: number | string, ref: number | string, opts: CheckOptions = {}): boolean {
    let ok: boolean;
    let refText = fmt(ref, opts.digits);
    if (opts.ok !== undefined) ok = opts.ok;
    else if (typeof ours !== 'number' || typeof ref !== 'number') ok = String(ours) === String(ref);
    else if (opts.lessThan !== undefined) {
      ok = ours < opts.lessThan;
      refText = `< ${fmt(opts.lessThan)}`;
    } else if (opts.between) {
      ok = ours >= opts.between[0] && ours <= opts.between[1];
      refText = `${fmt(ref, opts.digits)}, accepted ${fmt(opts.between[0])}…${fmt(opts.between[1])}`;
    } else if (opts.relTol !== undefined) {
      ok = Math.abs(ours - ref) / Math.max(1e-8, Math.abs(ours) + Math.abs(ref)) <= opts.relTol;
    } else {
      ok = Math.abs(ours - ref) <= (opts.absTol ?? 0);
    }
    const check = { name, ours: fmt(ours, opts.digits), ref: refText, ok };
    this.log(`${name}: ${check.ours} (reference ${check.ref}) ${ok ? 'OK' : 'FAIL'}`);
    this.add({ kind: 'check', check });
    return ok;
  }

  /** Records a figure already written into outDir (PNG or SVG). */
  figure(file: string, caption: string): void {
    const rel = path.relative(this.outDir, path.resolve(this.outDir, file));
    this.log(`[figure] ${caption}: ${path.join(this.outDir, rel)}`);
    this.add({ kind: 'figure', file: rel, caption });
  }

  /** Prints and records a small table. */
  table(header: string[], rows: Array<Array<string | number>>): void {
    const cells = [header, ...rows.map((r) => r.map((c) => fmt(c, 4)))];
    const widths = header.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? '').length)));
    for (const r of cells) this.log(r.map((c, j) => String(c).padEnd(widths[j])).join('  '));
    this.add({ kind: 'table', header, rows });
  }

  /** Every check so far. */
  get checks(): CheckResult[] {
    return this.sections.flatMap((s) => s.items.flatMap((i) => (i.kind === 'check' ? [i.check] : [])));
  }

  /** Names of the checks that failed. */
  get failures(): string[] {
    return this.checks.filter((c) => !c.ok).map((c) => c.name);
  }

  /** Writes report.html (atomically) and prints the summary line; returns its path. */
  write(): string {
    const checks = this.checks;
    const failed = checks.filter((c) => !c.ok).length;
    const body = this.sections
      .map((s, k) => {
        const items = s.items
          .map((it) => {
            switch (it.kind) {
              case 'text':
                return `<pre>${esc(it.text)}</pre>`;
              case 'check':
                return `<pre class="${it.check.ok ? 'ok' : 'fail'}">${esc(it.check.name)}: ${esc(it.check.ours)} (reference ${esc(it.check.ref)}) ${it.check.ok ? 'OK' : 'FAIL'}</pre>`;
              case 'figure':
                return `<figure><img src="${esc(it.file)}" alt="${esc(it.caption)}"><figcaption>${esc(it.caption)}</figcaption></figure>`;
              case 'table':
                return `<table><tr>${it.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${it.rows
                  .map((r) => `<tr>${r.map((c) => `<td>${esc(fmt(c, 4))}</td>`).join('')}</tr>`)
                  .join('')}</table>`;
            }
          })
          .join('\n');
        return `<section><h${k === 0 ? 1 : 2}>${esc(s.title)}</h${k === 0 ? 1 : 2}>\n${items}</section>`;
      })
      .join('\n');
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(this.title)}</title><style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
pre{margin:.2em 0;white-space:pre-wrap}.ok{color:#16632a}.fail{color:#b00020;font-weight:bold}
figure{display:inline-block;margin:.5em;vertical-align:top}img{max-width:100%;image-rendering:pixelated;border:1px solid #ddd}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}
</style></head><body>
<p>${checks.length} checks, ${failed} failed.</p>
${body}
</body></html>`;
    const file = path.join(this.outDir, 'report.html');
    writeFileAtomic(file, html);
    this.log(`\n${checks.length - failed} passed, ${failed} failed checks; report: ${file}`);
    return file;
  }
}
