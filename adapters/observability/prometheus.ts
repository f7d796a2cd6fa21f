/**
 * A Metrics registry that renders the Prometheus text format (version 0.0.4) for /metrics.
 * @module
 */
import type {
  Counter,
  Gauge,
  Histogram,
  Labels,
  Metrics,
} from "../../application/ports/metrics.ts";

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const labelText = (labels: Labels): string => {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return "";
  const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
};

type Family = { type: "counter" | "gauge" | "histogram"; help: string; render(): string[] };

export type PrometheusRegistry = Metrics & { render(): string };

export const prometheusRegistry = (): PrometheusRegistry => {
  const families = new Map<string, Family>();
  // Asking twice for one name gives the same series, so modules can declare what they use.
  const valueMaps = new Map<string, Map<string, number>>();

  const valued = (name: string, type: "counter" | "gauge", help: string) => {
    let values = valueMaps.get(name);
    if (!values) {
      const v = values = new Map<string, number>();
      valueMaps.set(name, v);
      families.set(name, {
        type,
        help,
        render: () => [...v].map(([labels, value]) => `${name}${labels} ${value}`),
      });
    }
    return values;
  };
  type Series = { labels: Labels; counts: number[]; sum: number; count: number };
  const histograms = new Map<string, Map<string, Series>>();

  return {
    counter(name, help): Counter {
      const values = valued(name, "counter", help);
      return {
        inc: (labels = {}, by = 1) => {
          const key = labelText(labels);
          values.set(key, (values.get(key) ?? 0) + by);
        },
      };
    },
    gauge(name, help): Gauge {
      const values = valued(name, "gauge", help);
      return { set: (value, labels = {}) => void values.set(labelText(labels), value) };
    },
    histogram(name, help, buckets = DEFAULT_BUCKETS): Histogram {
      let series = histograms.get(name);
      if (!series) {
        const s = series = new Map<string, Series>();
        histograms.set(name, s);
        families.set(name, {
          type: "histogram",
          help,
          render: () =>
            [...s.values()].flatMap((s) => [
              ...buckets.map((le, i) =>
                `${name}_bucket${labelText({ ...s.labels, le: String(le) })} ${s.counts[i]}`
              ),
              `${name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`,
              `${name}_sum${labelText(s.labels)} ${s.sum}`,
              `${name}_count${labelText(s.labels)} ${s.count}`,
            ]),
        });
      }
      const all = series;
      return {
        observe: (value, labels = {}) => {
          const key = labelText(labels);
          const s = all.get(key) ?? { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
          all.set(key, s);
          buckets.forEach((le, i) => {
            if (value <= le) s.counts[i]!++;
          });
          s.sum += value;
          s.count++;
        },
      };
    },
    render: () =>
      [...families].flatMap(([name, f]) => [
        `# HELP ${name} ${f.help}`,
        `# TYPE ${name} ${f.type}`,
        ...f.render(),
      ]).join("\n") + "\n",
  };
};
