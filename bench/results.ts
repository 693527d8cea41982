import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomicWrite';

/** bench/RESULTS.md: every bench writes one `## name` section of it. */
export const RESULTS = path.join(__dirname, 'RESULTS.md');

const HEADER = '# Benchmarks\n\nEach section is written by its bench script; rerunning a bench replaces only its own section.\n';

/**
 * Replaces the `heading` section of RESULTS.md with `body` (or appends it), leaving every other
 * section as it is, so benches run at different times share one file. Written atomically.
 */
export function writeResultsSection(heading: string, body: string, file = RESULTS): void {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : HEADER;
  const section = `${heading}\n\n${body.trim()}\n`;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  let next: string;
  if (start < 0) {
    next = `${text.replace(/\s*$/, '')}\n\n${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, start).join('\n').replace(/\s*$/, '');
    const after = lines.slice(end).join('\n').replace(/^\s*/, '');
    next = `${before}\n\n${section}${after ? `\n${after}` : ''}`;
  }
  writeFileAtomic(file, next.endsWith('\n') ? next : `${next}\n`);
}
