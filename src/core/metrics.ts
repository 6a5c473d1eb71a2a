/**
 * Metrics in Prometheus text exposition format. Counters and gauges with labels; names are
 * `hydrant_*`. One {@link Metrics} registry per process, passed to components in their context.
 */
type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly values: Map<string, { labels: Labels; value: number }>;
}

export class Metrics {
  readonly #families = new Map<string, Family>();

  #family(name: string, type: 'counter' | 'gauge', help: string): Family {
    let f = this.#families.get(name);
    if (f === undefined) {
      f = { type, help, values: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const f = this.#family(name, 'counter', help);
    const k = labelKey(labels);
    const cur = f.values.get(k);
    if (cur === undefined) f.values.set(k, { labels, value: by });
    else cur.value += by;
  }

  /** Sets a gauge. */
  set(name: string, help: string, labels: Labels, value: number): void {
    const f = this.#family(name, 'gauge', help);
    f.values.set(labelKey(labels), { labels, value });
  }

  /** Current value (0 when never set). */
  get(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Prometheus text format. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of [...this.#families].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const { labels, value } of f.values.values()) {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
        out.push(`${name}${l.length ? `{${l.join(',')}}` : ''} ${Number.isFinite(value) ? value : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN'}`);
      }
    }
    return out.join('\n') + '\n';
  }
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}
