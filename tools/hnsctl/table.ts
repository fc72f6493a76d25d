// Plain aligned columns for humans; `--json` is the form for scripts.

export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** An empty cell shows as "-" so columns stay readable. */
export function cell(v: string | number | undefined | null): string {
  return v === undefined || v === null || v === '' ? '-' : String(v);
}
