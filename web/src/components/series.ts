// Chart configurations for a deployment's stats over time: one line per
// measure, with the alert rule's threshold drawn across the span.
import type { ChartConfiguration } from 'chart.js';
import type { Bucket } from '../types';
import { palette } from './Chart';

export interface SeriesChart {
  title: string;
  yTitle: string;
  // value reads a bucket's measure; null leaves a gap in the line.
  value: (b: Bucket) => number | null;
  threshold: number | null;
  thresholdLabel: string;
  format: (v: number) => string;
  yMin?: number;
  yMax?: number;
}

// timeLabel writes a bucket's start short enough for an axis tick: the
// hour within a day or two, the date beyond.
export function timeLabel(ms: number, spanMs: number): string {
  const d = new Date(ms);
  if (spanMs <= 2 * 24 * 3600e3) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

// seriesConfig plots each bucket at its start; the axis runs on to until,
// so the newest bucket's point is not cut by the chart's edge.
export function seriesConfig(buckets: Bucket[], until: number, c: SeriesChart): ChartConfiguration {
  const xs = buckets.map((b) => new Date(b.start).getTime());
  const first = xs[0] ?? 0;
  const last = Math.max(until, xs[xs.length - 1] ?? 0);
  // Chart.js skips a NaN point, which breaks the line there: an empty
  // bucket is a gap, not a zero.
  const points = buckets.map((b, i) => ({ x: xs[i], y: c.value(b) ?? NaN }));
  const datasets: NonNullable<ChartConfiguration<'line'>['data']>['datasets'] = [
    {
      label: c.title,
      data: points,
      borderColor: palette[0],
      backgroundColor: palette[0],
      pointRadius: 3,
      borderWidth: 2,
      spanGaps: false,
    },
  ];
  if (c.threshold !== null) {
    datasets.push({
      label: c.thresholdLabel,
      data: [
        { x: first, y: c.threshold },
        { x: last, y: c.threshold },
      ],
      borderColor: palette[1],
      backgroundColor: palette[1],
      borderDash: [6, 4],
      pointRadius: 0,
      borderWidth: 2,
    });
  }
  const cfg: ChartConfiguration<'line'> = {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: {
          type: 'linear',
          min: first,
          max: last,
          ticks: { maxTicksLimit: 8, callback: (v) => timeLabel(Number(v), last - first) },
        },
        y: {
          title: { display: true, text: c.yTitle },
          min: c.yMin,
          max: c.yMax,
          suggestedMin: 0,
          ticks: { callback: (v) => c.format(Number(v)) },
        },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? new Date(Number(items[0].parsed.x)).toLocaleString() : ''),
            label: (ctx) => `${ctx.dataset.label}: ${c.format(Number(ctx.parsed.y))}`,
          },
        },
      },
    },
  };
  return cfg as unknown as ChartConfiguration;
}
