// Chart configurations built from the ladder's measurements: quality
// against cost, monthly cost against volume, and the tuning loss curve.
import type { ChartConfiguration } from 'chart.js';
import type { LossPoint, Summary, VerdictFile } from '../types';
import { palette } from './Chart';

// DaysPerMonth matches internal/cost, so the lines drawn here pass
// through the monthly costs the verdict states.
const daysPerMonth = 30.4;

export interface CostLine {
  id: string;
  fixed: number; // USD a month whatever the volume (training spread out)
  perDay: number; // USD a month per call a day
}

// costLines recovers each candidate's cost line from what the ladder
// measured: its per-call cost (summary) gives the slope, its monthly cost
// at the task's volume (verdict) then gives the fixed part.
export function costLines(summary: Summary, verdict: VerdictFile | null): CostLine[] {
  const vol = verdict?.verdict.volume_per_day ?? 0;
  const monthly = new Map((verdict?.verdict.options ?? []).map((o) => [o.id, o.monthly_usd]));
  return summary.candidates
    .filter((c) => c.cost_per_1k_usd >= 0 && c.calls > 0)
    .map((c) => {
      const perDay = (c.cost_per_1k_usd / 1000) * daysPerMonth;
      const m = monthly.get(c.id);
      const fixed = m !== undefined && vol > 0 ? Math.max(0, m - perDay * vol) : 0;
      return { id: c.id, fixed, perDay };
    });
}

function money(v: number): string {
  if (v >= 1000) return `$${Math.round(v).toLocaleString('en-US')}`;
  if (v >= 1) return `$${v.toFixed(2)}`;
  return `$${v.toPrecision(2)}`;
}

export function costVolumeConfig(lines: CostLine[], taskVolume: number): ChartConfiguration {
  const vols: number[] = [];
  for (let e = 2; e <= 7; e += 0.25) vols.push(Math.round(10 ** e));
  const positive = lines.every((l) => l.fixed > 0 || l.perDay > 0);
  return {
    type: 'line',
    data: {
      datasets: lines.map((l, i) => ({
        label: l.id,
        data: vols.map((v) => ({ x: v, y: l.fixed + l.perDay * v })),
        borderColor: palette[i % palette.length],
        backgroundColor: palette[i % palette.length],
        borderDash: i >= palette.length ? [6, 3] : undefined,
        pointRadius: 0,
        borderWidth: 2,
      })),
    },
    options: {
      parsing: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, text: `calls per day${taskVolume ? ` (the task's volume: ${taskVolume.toLocaleString('en-US')})` : ''}` },
          ticks: { callback: (v) => (Math.log10(Number(v)) % 1 === 0 ? Number(v).toLocaleString('en-US') : '') },
        },
        y: {
          type: positive ? 'logarithmic' : 'linear',
          title: { display: true, text: 'USD per month' },
          ticks: { callback: (v) => (positive && Math.log10(Number(v)) % 1 !== 0 ? '' : money(Number(v))) },
        },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money(c.parsed.y ?? 0)} a month at ${Number(c.parsed.x).toLocaleString('en-US')} calls/day` } },
      },
    },
  };
}

export function qualityCostConfig(summary: Summary, verdict: VerdictFile | null): ChartConfiguration {
  const monthly = new Map((verdict?.verdict.options ?? []).map((o) => [o.id, o.monthly_usd]));
  const useMonthly = monthly.size > 0;
  const pts = summary.candidates
    .filter((c) => c.accuracy >= 0 && c.calls > 0)
    .map((c) => ({ c, x: useMonthly ? (monthly.get(c.id) ?? NaN) : c.cost_per_1k_usd, y: 100 * c.accuracy }))
    .filter((p) => Number.isFinite(p.x));
  const xs = pts.map((p) => p.x);
  const logX = xs.length > 1 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) > 50;
  return {
    type: 'scatter',
    data: {
      datasets: pts.map((p, i) => ({
        label: p.c.id,
        data: [{ x: p.x, y: p.y }],
        backgroundColor: palette[i % palette.length],
        borderColor: palette[i % palette.length],
        pointStyle: p.c.id === verdict?.verdict.pick ? 'star' : i >= palette.length ? 'rectRot' : 'circle',
        pointRadius: p.c.id === verdict?.verdict.pick ? 10 : 6,
        pointHoverRadius: 9,
      })),
    },
    options: {
      scales: {
        x: {
          type: logX ? 'logarithmic' : 'linear',
          title: { display: true, text: useMonthly ? `USD per month at ${verdict!.verdict.volume_per_day.toLocaleString('en-US')} calls/day` : 'USD per 1,000 calls' },
          ticks: { callback: (v) => money(Number(v)) },
        },
        y: { title: { display: true, text: `accuracy (%), ${summary.primary_scorer}` }, suggestedMin: 0, suggestedMax: 100 },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const c = pts[ctx.datasetIndex].c;
              return `${c.id}: ${(100 * c.accuracy).toFixed(1)}% (95% CI ${(100 * c.ci_low).toFixed(0)}–${(100 * c.ci_high).toFixed(0)}), ${money(ctx.parsed.x ?? 0)}`;
            },
          },
        },
      },
    },
  };
}

export function lossConfig(train: LossPoint[], valid: LossPoint[]): ChartConfiguration {
  const ds = [
    { label: 'train loss', data: train.map((p) => ({ x: p.step, y: p.loss })), borderColor: palette[0], backgroundColor: palette[0] },
    { label: 'validation loss', data: valid.map((p) => ({ x: p.step, y: p.loss })), borderColor: palette[1], backgroundColor: palette[1], borderDash: [6, 3] },
  ].filter((d) => d.data.length > 0);
  return {
    type: 'line',
    data: { datasets: ds.map((d) => ({ ...d, pointRadius: d.data.length > 60 ? 0 : 2, borderWidth: 2 })) },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' } },
        y: { title: { display: true, text: 'loss' } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  };
}
