// Deployments: each one's live stats from the monitor, its quality,
// latency and errors over time with the alerts raised, its recent traces,
// and a trace's detail with a review form (thumbs, rating, correction).
import { lazy, Suspense, useState, type FormEvent } from 'react';
import { api } from '../api';
import type { Deployment, Feedback, Stats, Trace } from '../types';
import { ErrorBox, href, Loading, MessageList, ms, pct, Status, usd, useApi, when } from '../util';

// The charts carry Chart.js; they load when a deployment is opened.
const DeploymentHealth = lazy(() => import('./DeploymentHealth'));

export function Deployments({ name, traceId }: { name?: string; traceId?: string }) {
  const deps = useApi<Deployment[]>('/api/deployments');
  const mon = useApi<Stats[]>('/api/monitor');
  return (
    <section aria-labelledby="dep-title">
      <h1 id="dep-title">Deployments</h1>
      <p className="lead">
        Candidates served at <code>/v1</code> by <code>tunelab serve</code>; every call is a trace you can review.
      </p>
      <ErrorBox message={mon.error} />
      <Status l={deps} what="deployments">
        {(ds) => {
          const latest = new Map<string, Deployment>();
          for (const d of ds) if ((latest.get(d.name)?.version ?? 0) < d.version) latest.set(d.name, d);
          const list = [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
          if (list.length === 0) {
            return (
              <p className="panel">
                Nothing is deployed yet. Deploy the verdict's pick with <code>tunelab deploy NAME --from-verdict</code>.
              </p>
            );
          }
          const stats = new Map((mon.data ?? []).map((s) => [s.deployment, s]));
          const current = list.find((d) => d.name === name);
          return (
            <>
              <DeploymentTable list={list} stats={stats} selected={name} />
              {current && (
                <Suspense fallback={<Loading what="the charts" />}>
                  <DeploymentHealth key={current.name} name={current.name} />
                </Suspense>
              )}
              {current && <Traces dep={current} traceId={traceId} />}
            </>
          );
        }}
      </Status>
    </section>
  );
}

function DeploymentTable({ list, stats, selected }: { list: Deployment[]; stats: Map<string, Stats>; selected?: string }) {
  return (
    <div className="tablewrap">
      <table className="data">
        <caption>Live stats over the monitor's window</caption>
        <thead>
          <tr>
            <th scope="col">deployment</th>
            <th scope="col">candidate</th>
            <th scope="col" className="num">calls</th>
            <th scope="col" className="num">errors</th>
            <th scope="col" className="num">p50</th>
            <th scope="col" className="num">p95</th>
            <th scope="col" className="num">cost</th>
            <th scope="col" className="num">live quality</th>
            <th scope="col" className="num">accepted by reviewers</th>
            <th scope="col" className="num">evaluated</th>
            <th scope="col">notes</th>
          </tr>
        </thead>
        <tbody>
          {list.map((d) => {
            const s = stats.get(d.name);
            return (
              <tr key={d.name} className={d.name === selected ? 'picked' : undefined}>
                <th scope="row">
                  <a href={href('deployments', d.name)} aria-current={d.name === selected ? 'true' : undefined}>
                    {d.name}
                  </a>{' '}
                  <span className="muted">v{d.version}</span>
                </th>
                <td className="mono">{d.candidate.id}</td>
                <td className="num">{s?.calls ?? '–'}</td>
                <td className="num">{s ? pct(s.error_rate) : '–'}</td>
                <td className="num">{s?.calls ? ms(s.p50_ms) : '–'}</td>
                <td className="num">{s?.calls ? ms(s.p95_ms) : '–'}</td>
                <td className="num">{s ? usd(s.cost_usd) : '–'}</td>
                <td className="num">{s?.scored ? `${pct(s.quality)} of ${s.scored}` : '–'}</td>
                <td className="num">{s?.reviewed ? `${pct(s.accepted)} of ${s.reviewed}` : '–'}</td>
                <td className="num">{pct(d.quality)}</td>
                <td>
                  {d.split?.map((a) => (
                    <span key={a.deployment} className="tag">
                      {pct(a.weight, 0)} → {a.deployment}
                    </span>
                  ))}
                  {d.shadow && <span className="tag">shadow: {d.shadow}</span>}
                  {s?.retrain && <span className="tag warn">{s.retrain}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Traces({ dep, traceId }: { dep: Deployment; traceId?: string }) {
  const [since, setSince] = useState('24h');
  const [errors, setErrors] = useState(false);
  const [reviewed, setReviewed] = useState(false);
  const qs = new URLSearchParams({ deployment: dep.name, since, limit: '50' });
  if (errors) qs.set('errors', '1');
  if (reviewed) qs.set('reviewed', '1');
  const traces = useApi<Trace[]>(`/api/traces?${qs}`);
  return (
    <section className="panel" aria-labelledby="tr-title">
      <h2 id="tr-title">Recent traces of {dep.name}</h2>
      <div className="filters">
        <label htmlFor="tr-since" className="inline">
          Since
        </label>
        <select id="tr-since" value={since} onChange={(e) => setSince(e.target.value)}>
          <option value="1h">last hour</option>
          <option value="24h">last day</option>
          <option value="168h">last week</option>
          <option value="720h">last 30 days</option>
        </select>
        <label className="inline">
          <input type="checkbox" checked={errors} onChange={(e) => setErrors(e.target.checked)} /> Errors only
        </label>
        <label className="inline">
          <input type="checkbox" checked={reviewed} onChange={(e) => setReviewed(e.target.checked)} /> Reviewed only
        </label>
        <button type="button" onClick={traces.reload}>
          Refresh
        </button>
      </div>
      <Status l={traces} what="traces">
        {(ts) =>
          ts.length === 0 ? (
            <p className="muted">No calls in this window.</p>
          ) : (
            <div className="tablewrap">
              <table className="data">
                <caption className="sr-only">Traces, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">time</th>
                    <th scope="col">input</th>
                    <th scope="col">answer</th>
                    <th scope="col" className="num">latency</th>
                    <th scope="col" className="num">status</th>
                  </tr>
                </thead>
                <tbody>
                  {ts.map((t) => (
                    <tr key={t.id} className={t.id === traceId ? 'picked' : undefined}>
                      <th scope="row">
                        <a href={href('deployments', dep.name, 'traces', t.id)}>{when(t.created_at)}</a>
                      </th>
                      <td className="clip">{t.input}</td>
                      <td>{t.answer}</td>
                      <td className="num">{ms(t.latency_ms)}</td>
                      <td className="num">
                        <span className={`badge ${t.status < 400 ? 'pass' : 'fail'}`}>{t.status}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Status>
      <Capture name={dep.name} since={since} />
      {traceId && <TraceDetail key={traceId} id={traceId} labels={dep.task?.output === 'label' ? (dep.task.labels ?? []) : []} />}
    </section>
  );
}

// Capture turns the window's reviewed calls into a dataset file in the lab
// (POST /api/capture, what `tunelab data capture` does).
function Capture({ name, since }: { name: string; since: string }) {
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');
  const run = () => {
    setBusy(true);
    setMsg('');
    setErr('');
    api<{ path: string; examples: number; reviewed: number; no_answer: number; repeats: number }>('/api/capture', {
      method: 'POST',
      body: { deployment: name, since },
    })
      .then((c) =>
        setMsg(
          `${c.examples} examples from ${c.reviewed} reviewed calls written to ${c.path}` +
            (c.no_answer ? `; ${c.no_answer} marked wrong without a correction left out` : '') +
            (c.repeats ? `; ${c.repeats} already in train or repeated left out` : '') +
            '. Add the file to data.train and run the ladder again.',
        ),
      )
      .catch((e: Error) => setErr(e.message))
      .finally(() => setBusy(false));
  };
  return (
    <div className="capture">
      <button type="button" onClick={run} disabled={busy}>
        {busy ? 'Capturing…' : 'Capture reviewed calls as a dataset'}
      </button>
      {msg && (
        <p role="status" data-testid="capture-result">
          {msg}
        </p>
      )}
      <ErrorBox message={err} />
    </div>
  );
}

function TraceDetail({ id, labels }: { id: string; labels: string[] }) {
  const t = useApi<Trace & { feedback: Feedback[] | null }>(`/api/traces/${encodeURIComponent(id)}`);
  return (
    <section aria-labelledby="td-title" className="trace">
      <h3 id="td-title">
        Trace <span className="mono">{id}</span>
      </h3>
      <Status l={t} what="the trace">
        {(tr) => (
          <div className="two">
            <div>
              <dl className="kv">
                <dt>Input</dt>
                <dd>
                  <pre className="output">{tr.input}</pre>
                </dd>
                <dt>Output</dt>
                <dd>
                  <pre className="output">{tr.output}</pre>
                </dd>
                <dt>Answer</dt>
                <dd>
                  <strong>{tr.answer}</strong>
                </dd>
                <dt>Served by</dt>
                <dd>
                  {tr.served} v{tr.version} · <span className="mono">{tr.model}</span>
                  {tr.shadow && ' (shadow)'}
                </dd>
                <dt>Call</dt>
                <dd>
                  {ms(tr.latency_ms)} · {tr.tokens_in} in / {tr.tokens_out} out · {usd(tr.cost)} · HTTP {tr.status}
                </dd>
              </dl>
              <ErrorBox message={tr.error ?? ''} />
              {tr.prompt && tr.prompt.length > 0 && (
                <details>
                  <summary>Rendered prompt</summary>
                  <MessageList messages={tr.prompt} />
                </details>
              )}
            </div>
            <div>
              <h4>Reviews</h4>
              {!tr.feedback?.length ? (
                <p className="muted">Not reviewed yet.</p>
              ) : (
                <ul className="reviews">
                  {tr.feedback.map((f) => (
                    <li key={f.id}>
                      <strong>{f.reviewer || 'anonymous'}</strong>
                      {f.thumb === 1 ? ' · right' : f.thumb === -1 ? ' · wrong' : ''}
                      {f.rating ? ` ${f.rating}/5` : ''}
                      {f.correction && (
                        <>
                          {' '}
                          · correction <strong>{f.correction}</strong>
                        </>
                      )}
                      {f.comment && <> · {f.comment}</>} <span className="muted">({when(f.created_at)})</span>
                    </li>
                  ))}
                </ul>
              )}
              <ReviewForm id={id} labels={labels} onDone={t.reload} />
            </div>
          </div>
        )}
      </Status>
    </section>
  );
}

const reviewerKey = 'tunelab-reviewer';

function ReviewForm({ id, labels, onDone }: { id: string; labels: string[]; onDone: () => void }) {
  const [reviewer, setReviewer] = useState(localStorage.getItem(reviewerKey) ?? '');
  const [thumb, setThumb] = useState(0);
  const [rating, setRating] = useState(0);
  const [correction, setCorrection] = useState('');
  const [comment, setComment] = useState('');
  const [err, setErr] = useState('');
  const [ok, setOk] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErr('');
    setOk('');
    if (!thumb && !rating && !correction.trim() && !comment.trim()) {
      setErr('Give a thumb, a rating, a correction or a comment.');
      return;
    }
    localStorage.setItem(reviewerKey, reviewer);
    const body: Record<string, unknown> = { reviewer };
    if (thumb) body.thumb = thumb;
    if (rating) body.rating = rating;
    if (correction.trim()) body.correction = correction.trim();
    if (comment.trim()) body.comment = comment.trim();
    try {
      await api(`/api/traces/${encodeURIComponent(id)}/feedback`, { method: 'POST', body });
      setOk('Review saved.');
      setThumb(0);
      setRating(0);
      setCorrection('');
      setComment('');
      onDone();
    } catch (e2) {
      setErr((e2 as Error).message);
    }
  };
  return (
    <form onSubmit={submit} className="review" aria-labelledby="rv-title">
      <h4 id="rv-title">Review this call</h4>
      <label htmlFor="rv-who">Reviewer</label>
      <input id="rv-who" value={reviewer} onChange={(e) => setReviewer(e.target.value)} autoComplete="name" />
      <fieldset className="seg">
        <legend>Verdict</legend>
        <label>
          <input type="radio" name="thumb" checked={thumb === 1} onChange={() => setThumb(1)} /> Right (thumb up)
        </label>
        <label>
          <input type="radio" name="thumb" checked={thumb === -1} onChange={() => setThumb(-1)} /> Wrong (thumb down)
        </label>
        <label>
          <input type="radio" name="thumb" checked={thumb === 0} onChange={() => setThumb(0)} /> No thumb
        </label>
      </fieldset>
      <label htmlFor="rv-rating">Rating</label>
      <select id="rv-rating" value={rating} onChange={(e) => setRating(Number(e.target.value))}>
        <option value={0}>none</option>
        {[1, 2, 3, 4, 5].map((n) => (
          <option key={n} value={n}>
            {n} / 5
          </option>
        ))}
      </select>
      <label htmlFor="rv-corr">Correct answer</label>
      {labels.length > 0 ? (
        <select id="rv-corr" value={correction} onChange={(e) => setCorrection(e.target.value)}>
          <option value="">no correction</option>
          {labels.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
      ) : (
        <input id="rv-corr" value={correction} onChange={(e) => setCorrection(e.target.value)} />
      )}
      <label htmlFor="rv-comment">Comment</label>
      <textarea id="rv-comment" rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />
      <div className="actions">
        <button type="submit" className="primary">
          Save review
        </button>
      </div>
      {ok && (
        <p className="ok" role="status">
          {ok}
        </p>
      )}
      <ErrorBox message={err} />
    </form>
  );
}
