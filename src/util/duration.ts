/** `90`, `90s`, `10m`, `1.5h` → seconds (> 0); anything else is an error naming `flag`. */
export function parseDuration(flag: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(v);
  const n = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) : NaN;
  if (!(n > 0)) throw new RangeError(`${flag}: expected a duration such as 90s, 10m or 1.5h, got ${JSON.stringify(v)}`);
  return n;
}
