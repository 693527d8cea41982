/**
 * A JSON value as {@link parseStrictJson} returns it: objects are Maps, so a key order that the
 * file chose survives (a plain object would move integer-like keys such as "0" to the front) and
 * no key ("__proto__") can reach an object's prototype.
 */
export type StrictJson = null | boolean | number | string | StrictJson[] | Map<string, StrictJson>;

/** Thrown by {@link parseStrictJson}; `offset` is the character position of the problem. */
export class StrictJsonError extends Error {
  constructor(
    readonly problem: string,
    readonly offset: number,
    /** The duplicated key, when that is the problem. */
    readonly duplicateKey?: string,
  ) {
    super(`${problem} at offset ${offset}`);
    this.name = 'StrictJsonError';
  }
}

/** Options of {@link parseStrictJson}. */
export interface StrictJsonOptions {
  /** Deepest nesting of arrays and objects accepted (default 64), so hostile input cannot exhaust the stack. */
  maxDepth?: number;
}

/**
 * Parses RFC 8259 JSON for files from outside. Unlike `JSON.parse` it rejects an object that
 * repeats a key (`JSON.parse` silently keeps the last one, so two readers of one file could see
 * different tensors), and it bounds the nesting depth. Leading and trailing whitespace is allowed;
 * anything else after the value is an error.
 */
export function parseStrictJson(text: string, opts: StrictJsonOptions = {}): StrictJson {
  const p = new Parser(text, opts.maxDepth ?? 64);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.pos < text.length) p.fail(`unexpected ${p.describe()} after the JSON value`);
  return v;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Parser {
  pos = 0;
  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
  ) {}

  fail(problem: string, duplicateKey?: string): never {
    throw new StrictJsonError(problem, this.pos, duplicateKey);
  }

  describe(): string {
    return this.pos >= this.s.length ? 'end of input' : `character ${JSON.stringify(this.s[this.pos])}`;
  }

  ws(): void {
    while (this.pos < this.s.length && WS.has(this.s.charCodeAt(this.pos))) this.pos++;
  }

  private literal(word: string, v: StrictJson): StrictJson {
    if (!this.s.startsWith(word, this.pos)) this.fail(`unexpected ${this.describe()}`);
    this.pos += word.length;
    return v;
  }

  value(depth: number): StrictJson {
    const c = this.s[this.pos];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default: {
        NUMBER.lastIndex = this.pos;
        const m = NUMBER.exec(this.s);
        if (!m) return this.fail(`unexpected ${this.describe()}`);
        this.pos += m[0].length;
        return Number(m[0]);
      }
    }
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    this.pos++;
    this.ws();
  }

  private object(depth: number): Map<string, StrictJson> {
    this.enter(depth);
    const out = new Map<string, StrictJson>();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.s[this.pos] !== '"') this.fail(`expected a string key, got ${this.describe()}`);
      const at = this.pos;
      const key = this.string();
      if (out.has(key)) {
        this.pos = at;
        this.fail(`duplicate key ${JSON.stringify(key)}`, key);
      }
      this.ws();
      if (this.s[this.pos] !== ':') this.fail(`expected ':', got ${this.describe()}`);
      this.pos++;
      this.ws();
      out.set(key, this.value(depth));
      this.ws();
      const c = this.s[this.pos];
      this.pos++;
      if (c === '}') return out;
      if (c !== ',') {
        this.pos--;
        this.fail(`expected ',' or '}', got ${this.describe()}`);
      }
      this.ws();
    }
  }

  private array(depth: number): StrictJson[] {
    this.enter(depth);
    const out: StrictJson[] = [];
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.s[this.pos];
      this.pos++;
      if (c === ']') return out;
      if (c !== ',') {
        this.pos--;
        this.fail(`expected ',' or ']', got ${this.describe()}`);
      }
      this.ws();
    }
  }

  private string(): string {
    const s = this.s;
    let i = ++this.pos;
    let out = '';
    for (;;) {
      if (i >= s.length) {
        this.pos = i;
        this.fail('unterminated string');
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(this.pos, i);
        this.pos = i + 1;
        return out;
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in a string');
      }
      if (c === 0x5c) {
        out += s.slice(this.pos, i);
        const e = s[i + 1];
        if (e === 'u') {
          const hex = s.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.pos = i;
            this.fail('bad \\u escape');
          }
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && Object.prototype.hasOwnProperty.call(ESCAPES, e)) {
          out += ESCAPES[e];
          i += 2;
        } else {
          this.pos = i;
          this.fail('bad escape in a string');
        }
        this.pos = i;
        continue;
      }
      i++;
    }
  }
}
