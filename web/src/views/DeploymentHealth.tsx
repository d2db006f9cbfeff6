// A deployment's health over time: live quality (the monitor's sampled
// scoring), p95 latency and error rate per bucket, each drawn against its
// alert threshold, and the alerts the monitor raised and resolved. It
// carries the chart library, so Deployments loads it when first shown.
import { useMemo, useState } from 'react';
import { ChartView } from '../components/Chart';
import { seriesConfig, type SeriesChart } from '../components/series';
import type { Alert, Series, Thresholds } from '../types';
import { ms, num, pct, Status, useApi, when } from '../util';

const spans = [
  { since: '6h', bucket: '15m', label: 'last 6 hours, per 15 minutes' },
  { since: '24h', bucket: '1h', label: 'last day, per hour' },
  { since: '168h', bucket: '6h', label: 'last week, per 6 hours' },
  { since: '720h', bucket: '24h', label: 'last 30 days, per day' },
];

export default function DeploymentHealth({ name }: { name: string }) {
  const [since, setSince] = useState('24h');
  const span = spans.find((s) => s.since === since) ?? spans[1];
  const qs = new URLSearchParams({ deployment: name, since: span.since, bucket: span.bucket });
  const series = useApi<Series>(`/api/monitor/series?${qs}`);
  const alerts = useApi<Alert[]>(`/api/alerts?${new URLSearchParams({ deployment: name })}`);
  return (
    <section className="panel" aria-labelledby="health-title">
      <h2 id="health-title">{name} over time</h2>
      <div className="filters">
        <label htmlFor="health-span" className="inline">
          Span
        </label>
        <select id="health-span" value={since} onChange={(e) => setSince(e.target.value)}>
          {spans.map((s) => (
            <option key={s.since} value={s.since}>
              {s.label}
            </option>
          ))}
        </select>
        <button
          type="button"
          onClick={() => {
            series.reload();
            alerts.reload();
          }}
        >
          Refresh
        </button>
      </div>
      <Status l={series} what="the series">
        {(s) => <Charts s={s} spanLabel={span.label} />}
      </Status>
      <h3 id="alerts-title">Alerts</h3>
      <Status l={alerts} what="alerts">
        {(as) => <AlertList alerts={as} thresholds={series.data?.thresholds} />}
      </Status>
    </section>
  );
}

function Charts({ s, spanLabel }: { s: Series; spanLabel: string }) {
  const th = s.thresholds;
  const charts: SeriesChart[] = useMemo(
    () => [
      {
        title: `live quality (${s.primary_scorer || 'no scorer'})`,
        yTitle: 'share passed',
        value: (b) => b.quality,
        threshold: th.min_quality,
        thresholdLabel: 'alert under',
        format: (v) => pct(v, 0),
        yMin: 0,
        yMax: 1,
      },
      {
        title: 'p95 latency',
        yTitle: 'ms',
        value: (b) => b.p95_ms,
        threshold: th.max_p95_ms,
        thresholdLabel: 'alert over',
        format: (v) => ms(v),
      },
      {
        title: 'error rate',
        yTitle: 'share of calls',
        value: (b) => b.error_rate,
        threshold: th.max_error_rate,
        thresholdLabel: 'alert over',
        format: (v) => pct(v, 0),
        yMin: 0,
      },
    ],
    [s.primary_scorer, th.min_quality, th.max_p95_ms, th.max_error_rate],
  );
  const until = new Date(s.until).getTime();
  const configs = useMemo(() => charts.map((c) => seriesConfig(s.buckets, until, c)), [charts, s.buckets, until]);
  const calls = s.buckets.reduce((n, b) => n + b.calls, 0);
  const scored = s.buckets.reduce((n, b) => n + b.scored, 0);
  const busy = s.buckets.filter((b) => b.calls > 0);
  return (
    <>
      <p className="hint">
        {num(calls)} {calls === 1 ? 'call' : 'calls'} over the {spanLabel}; {num(scored)} scored by the monitor
        {s.evaluated !== null && s.evaluated !== undefined && <> (quality measured in evaluation: {pct(s.evaluated)})</>}. Empty
        buckets are gaps; dashed lines are the alert thresholds.
      </p>
      <div className="charts3" data-testid="health-charts">
        {charts.map((c, i) => (
          <figure key={c.title} className="seriesfig">
            <figcaption>{c.title}</figcaption>
            <ChartView
              config={configs[i]}
              height={220}
              label={`${c.title} over the ${spanLabel}${c.threshold !== null ? `, against a threshold of ${c.format(c.threshold)}` : ''}; the table below holds the numbers`}
            />
          </figure>
        ))}
      </div>
      <details>
        <summary>The numbers ({busy.length} {busy.length === 1 ? "bucket" : "buckets"} with calls)</summary>
        <div className="tablewrap">
          <table className="data compact">
            <caption className="sr-only">Stats per bucket with calls</caption>
            <thead>
              <tr>
                <th scope="col">from</th>
                <th scope="col" className="num">calls</th>
                <th scope="col" className="num">errors</th>
                <th scope="col" className="num">p50</th>
                <th scope="col" className="num">p95</th>
                <th scope="col" className="num">scored</th>
                <th scope="col" className="num">quality</th>
              </tr>
            </thead>
            <tbody>
              {busy.map((b) => (
                <tr key={b.start}>
                  <th scope="row">{when(b.start)}</th>
                  <td className="num">{b.calls}</td>
                  <td className="num">{pct(b.error_rate)}</td>
                  <td className="num">{ms(b.p50_ms)}</td>
                  <td className="num">{ms(b.p95_ms)}</td>
                  <td className="num">{b.scored}</td>
                  <td className="num">{pct(b.quality)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}

// rules says which alert rules are on, so an empty list reads right.
function rules(th: Thresholds | undefined): string {
  if (!th) return '';
  const on: string[] = [];
  if (th.min_quality !== null) on.push(`quality under ${pct(th.min_quality, 0)} (once ${th.min_samples} calls are scored)`);
  if (th.max_p95_ms !== null) on.push(`p95 latency over ${ms(th.max_p95_ms)}`);
  if (th.max_error_rate !== null) on.push(`error rate over ${pct(th.max_error_rate, 0)}`);
  return on.length
    ? `Rules: ${on.join('; ')}.`
    : 'No alert rules are set: add min_quality, max_p95_ms or max_error_rate under serve.monitor in tunelab.yaml.';
}

function AlertList({ alerts, thresholds }: { alerts: Alert[]; thresholds?: Thresholds }) {
  return (
    <>
      <p className="hint">
        {rules(thresholds)} The server keeps its recent alerts while it runs; a webhook (serve.monitor.webhook) keeps them
        for good.
      </p>
      {alerts.length === 0 ? (
        <p className="muted" data-testid="alerts-empty">
          No alert raised since the server started.
        </p>
      ) : (
        <div className="tablewrap">
          <table className="data" aria-labelledby="alerts-title">
            <thead>
              <tr>
                <th scope="col">when</th>
                <th scope="col">rule</th>
                <th scope="col" className="num">value</th>
                <th scope="col" className="num">threshold</th>
                <th scope="col">state</th>
                <th scope="col">message</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a, i) => (
                <tr key={`${a.at}-${a.rule}-${i}`} data-testid="alert-row">
                  <th scope="row">{when(a.at)}</th>
                  <td className="mono">{a.rule}</td>
                  <td className="num">{formatRule(a.rule, a.value)}</td>
                  <td className="num">{formatRule(a.rule, a.threshold)}</td>
                  <td>
                    <span className={`badge ${a.resolved ? 'pass' : 'fail'}`}>{a.resolved ? 'resolved' : 'raised'}</span>
                  </td>
                  <td className="wrap">{a.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function formatRule(rule: string, v: number): string {
  return rule === 'latency_p95_ms' ? ms(v) : pct(v);
}
