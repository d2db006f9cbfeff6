// The ladder: start it, follow its log and progress live (server-sent
// events), then read the verdict with its evidence and charts.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { adminToken, api } from '../api';
import type { LadderProgress, LadderStatus, LossPoint, VerdictFile, ResultsFile } from '../types';
import { ChartView } from '../components/Chart';
import { costLines, costVolumeConfig, lossConfig, qualityCostConfig } from '../components/charts';
import { SummaryTable } from '../components/SummaryTable';
import { ErrorBox, Status, useApi } from '../util';

const maxLog = 2000;

const basisText: Record<string, string> = {
  quality: 'the only candidate not significantly worse than the best that meets the constraints',
  cost: 'several candidates are statistically tied with the best; this one is the cheapest at your volume',
  constraints: 'the best fails the constraints; this is the most accurate that meets them',
  'none-meets': 'nothing meets the constraints; this is the most accurate',
};

export function Ladder() {
  const status = useApi<LadderStatus>('/api/ladder');
  const [log, setLog] = useState<string[] | null>(null);
  const [state, setState] = useState<string>('');
  const [progress, setProgress] = useState<Record<string, LadderProgress>>({});
  const [liveLoss, setLiveLoss] = useState<LossPoint[]>([]);
  const [startErr, setStartErr] = useState('');
  // When the ladder ends, the status is reloaded; the live state and log
  // stay on screen until that reload has come back, so nothing flickers.
  const dataRef = useRef(status.data);
  dataRef.current = status.data;
  const finishedFrom = useRef<LadderStatus | null | undefined>(undefined);
  const { reload: reloadStatus } = status;
  const reload = useCallback(() => {
    finishedFrom.current = dataRef.current;
    reloadStatus();
  }, [reloadStatus]);

  const current = state || status.data?.state || '';
  const running = current === 'running';

  // Follow a running ladder: server-sent events, or polling when an admin
  // token is needed (EventSource cannot send headers).
  useEffect(() => {
    if (!running) return;
    if (adminToken()) {
      const t = setInterval(() => {
        api<LadderStatus>('/api/ladder')
          .then((s) => {
            setLog(s.log);
            if (s.state !== 'running') {
              setState(s.state);
              reload();
            }
          })
          .catch(() => {});
      }, 1500);
      return () => clearInterval(t);
    }
    const es = new EventSource('/api/ladder/events');
    es.addEventListener('log', (e) => {
      const { line } = JSON.parse((e as MessageEvent).data) as { line: string };
      setLog((l) => {
        // Joining a ladder already running: its log so far came with the status.
        const next = [...(l ?? dataRef.current?.log ?? []), line];
        return next.length > maxLog ? next.slice(next.length - maxLog) : next;
      });
    });
    es.addEventListener('progress', (e) => {
      const p = JSON.parse((e as MessageEvent).data) as LadderProgress;
      setProgress((old) => ({ ...old, [p.stage]: p }));
      if (p.stage === 'tune' && typeof p.loss === 'number') {
        const loss = p.loss;
        setLiveLoss((pts) => (pts.length && pts[pts.length - 1].step === p.done ? pts : [...pts, { step: p.done, loss }]));
      }
    });
    es.addEventListener('state', (e) => {
      const { state: s } = JSON.parse((e as MessageEvent).data) as { state: string };
      setState(s);
      if (s !== 'running') {
        es.close();
        reload();
      }
    });
    return () => es.close();
  }, [running, reload]);

  // Once the status is reloaded after a finish, it is the truth again.
  useEffect(() => {
    if (finishedFrom.current !== undefined && status.data !== finishedFrom.current) {
      finishedFrom.current = undefined;
      setState('');
      setLog(null);
    }
  }, [status.data]);

  const start = async () => {
    setStartErr('');
    try {
      await api('/api/ladder', { method: 'POST' });
      setLog([]);
      setProgress({});
      setLiveLoss([]);
      setState('running');
    } catch (e) {
      setStartErr((e as Error).message);
    }
  };

  return (
    <section aria-labelledby="ladder-title">
      <h1 id="ladder-title">Ladder &amp; verdict</h1>
      <p className="lead">
        Every rung on the same test split (prompts, optimisation, retrieval, fine-tuning), then a recommendation with
        its evidence.
      </p>
      <Status l={status} what="the ladder">
        {(s) => (
          <>
            <div className="panel ladderbar">
              <button type="button" className="primary" onClick={start} disabled={running}>
                {running ? 'Ladder running…' : s.result ? 'Run the ladder again' : 'Run the ladder'}
              </button>
              <span className={`badge ${current === 'done' ? 'pass' : current === 'failed' ? 'fail' : 'neutral'}`} role="status">
                {current || 'idle'}
              </span>
              {s.result && <ReportLink />}
            </div>
            <ErrorBox message={startErr} />
            {current === 'failed' && s.error && <ErrorBox message={`The ladder failed: ${s.error}`} />}
            {Object.values(progress).map((p) => (
              <div key={p.stage} className="progress">
                <label htmlFor={`prog-${p.stage}`}>
                  {p.stage === 'tune' ? 'Fine-tuning' : p.stage === 'eval' ? 'Evaluation' : p.stage}: {p.done} / {p.total}
                  {typeof p.loss === 'number' && ` · loss ${p.loss.toFixed(3)}`}
                </label>
                <progress id={`prog-${p.stage}`} max={p.total || 1} value={p.done} />
              </div>
            ))}
            {(log ?? s.log).length > 0 ? (
              <LogView lines={log ?? s.log} />
            ) : (
              running && (
                <p className="panel muted" role="status">
                  Starting the ladder; its steps appear here as they finish.
                </p>
              )
            )}
            {(liveLoss.length > 1 || s.loss) && (
              <LossPanel train={s.loss?.train?.length ? s.loss.train : liveLoss} valid={s.loss?.valid ?? []} />
            )}
            {s.verdict && <VerdictPanel v={s.verdict} />}
            {s.result && <Evidence result={s.result} verdict={s.verdict} />}
            {!s.result && !running && (
              <p className="panel">
                No ladder results yet. Run it: it evaluates the prompt variants, tunes a model on the train split and
                writes a verdict. On the bundled model this takes a few minutes.
              </p>
            )}
          </>
        )}
      </Status>
    </section>
  );
}

function ReportLink() {
  const open = useCallback(async () => {
    // With a token the report must be fetched with the header, then shown.
    const resp = await fetch('/api/ladder/report', { headers: { Authorization: `Bearer ${adminToken()}` } });
    const blob = await resp.blob();
    window.open(URL.createObjectURL(blob), '_blank', 'noopener');
  }, []);
  if (adminToken()) {
    return (
      <button type="button" onClick={open}>
        Open the full report
      </button>
    );
  }
  return (
    <a href="/api/ladder/report" target="_blank" rel="noopener">
      Open the full report (report.html)
    </a>
  );
}

function LogView({ lines }: { lines: string[] }) {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <details className="panel" open>
      <summary>Log ({lines.length} lines)</summary>
      <pre ref={ref} className="log" role="log" aria-live="polite" tabIndex={0}>
        {lines.join('\n')}
      </pre>
    </details>
  );
}

function LossPanel({ train, valid }: { train: LossPoint[]; valid: LossPoint[] }) {
  const cfg = useMemo(() => lossConfig(train, valid), [train, valid]);
  return (
    <section className="panel" aria-labelledby="loss-title">
      <h2 id="loss-title">Fine-tuning loss</h2>
      <ChartView config={cfg} label={`Loss curve over ${train.length} points`} height={260} />
    </section>
  );
}

function VerdictPanel({ v }: { v: VerdictFile }) {
  const vd = v.verdict;
  return (
    <section className="panel verdict" aria-labelledby="verdict-title">
      <h2 id="verdict-title">Verdict</h2>
      <p className="pick">
        Ship <strong className="mono">{vd.pick}</strong>
      </p>
      <p className="muted">
        Basis <span className="mono">{vd.basis}</span>: {basisText[vd.basis] ?? vd.basis}.
      </p>
      <div className="two">
        <div>
          <h3>Why</h3>
          <ul>
            {vd.reasons.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        </div>
        <div>
          <h3>What would change it</h3>
          <ul>
            {vd.what_would_change_it.length ? vd.what_would_change_it.map((r, i) => <li key={i}>{r}</li>) : <li>Nothing the ladder measured.</li>}
          </ul>
        </div>
      </div>
      <h3>Rungs</h3>
      <table className="data compact">
        <caption className="sr-only">The ladder's rungs</caption>
        <thead>
          <tr>
            <th scope="col">rung</th>
            <th scope="col">status</th>
            <th scope="col">what it did</th>
          </tr>
        </thead>
        <tbody>
          {v.rungs.map((r) => (
            <tr key={r.name}>
              <th scope="row">{r.name}</th>
              <td>
                <span className={`badge ${r.status === 'skipped' ? 'neutral' : 'pass'}`}>{r.status}</span>
              </td>
              <td>{r.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Evidence({ result, verdict }: { result: ResultsFile; verdict: VerdictFile | null }) {
  const qc = useMemo(() => qualityCostConfig(result.summary, verdict), [result, verdict]);
  const lines = useMemo(() => costLines(result.summary, verdict), [result, verdict]);
  const cv = useMemo(() => costVolumeConfig(lines, verdict?.verdict.volume_per_day ?? result.task.volume ?? 0), [lines, verdict, result]);
  // A crossing under one call a day only says which is cheaper at all.
  const crossings = (verdict?.verdict.break_even ?? []).filter((b) => b.Crosses && b.CallsPerDay >= 1);
  return (
    <>
      <section className="panel" aria-labelledby="evidence-title">
        <h2 id="evidence-title">Evidence</h2>
        <SummaryTable summary={result.summary} options={verdict?.verdict.options} pick={verdict?.verdict.pick} caption={`Every candidate on ${result.summary.cases} test cases, best first`} />
      </section>
      <div className="charts">
        <section className="panel" aria-labelledby="qc-title">
          <h2 id="qc-title">Quality against cost</h2>
          <ChartView config={qc} label="Scatter plot of each candidate's accuracy against its cost; the evidence table holds the same numbers" />
        </section>
        <section className="panel" aria-labelledby="cv-title">
          <h2 id="cv-title">Monthly cost against volume</h2>
          {verdict ? (
            <>
              <ChartView config={cv} label="Each candidate's monthly cost as calls per day grow" />
              {crossings.length > 0 && (
                <ul className="hint">
                  {crossings.map((b) => (
                    <li key={`${b.A}|${b.B}`}>
                      Above {Math.round(b.CallsPerDay).toLocaleString('en-US')} calls a day <span className="mono">{b.A}</span> costs less than{' '}
                      <span className="mono">{b.B}</span>.
                    </li>
                  ))}
                </ul>
              )}
            </>
          ) : (
            <p>
              No verdict to project from; see the <a href="/api/ladder/report">full report</a>.
            </p>
          )}
        </section>
      </div>
    </>
  );
}
