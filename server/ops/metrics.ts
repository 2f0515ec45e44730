/**
 * Process-wide counters and gauges, rendered in Prometheus text format by
 * `GET /metrics`.
 *
 * @module
 */

/** Counters the server increments; names are Prometheus metric names. */
export interface Metrics {
  /** Adds `by` (default 1) to counter `name`, with optional labels. */
  inc(name: string, by?: number, labels?: Record<string, string>): void;
  /** Registers a value read at scrape time: a gauge, or (`type: "counter"`) a count kept elsewhere. */
  gauge(name: string, help: string, read: () => number, type?: "gauge" | "counter"): void;
  /** Declares a counter's help text. */
  describe(name: string, help: string): void;
  /** Current value of a counter (tests). */
  value(name: string, labels?: Record<string, string>): number;
  /** Prometheus text exposition format. */
  render(): string;
}

function labelKey(labels?: Record<string, string>): string {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replace(/["\\\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`)}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Creates an empty metrics registry. */
export function createMetrics(): Metrics {
  const counters = new Map<string, Map<string, number>>();
  const help = new Map<string, string>();
  const gauges: { name: string; help: string; read: () => number; type: "gauge" | "counter" }[] = [];
  return {
    inc(name, by = 1, labels) {
      let series = counters.get(name);
      if (!series) counters.set(name, series = new Map());
      const key = labelKey(labels);
      series.set(key, (series.get(key) ?? 0) + by);
    },
    gauge(name, text, read, type = "gauge") {
      gauges.push({ name, help: text, read, type });
    },
    describe(name, text) {
      help.set(name, text);
      if (!counters.has(name)) counters.set(name, new Map());
    },
    value(name, labels) {
      return counters.get(name)?.get(labelKey(labels)) ?? 0;
    },
    render() {
      const out: string[] = [];
      for (const [name, series] of counters) {
        out.push(`# HELP ${name} ${help.get(name) ?? name}`, `# TYPE ${name} counter`);
        if (series.size === 0) out.push(`${name} 0`);
        for (const [key, v] of series) out.push(`${name}${key} ${v}`);
      }
      for (const g of gauges) {
        out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} ${g.type}`, `${g.name} ${g.read()}`);
      }
      return out.join("\n") + "\n";
    },
  };
}
