// One case of a run: the input and reference, each candidate's answer with
// its scores and reasons, and a word diff between two candidates.
import { useMemo, useState } from 'react';
import type { CallResult, Message, RunDetail } from '../types';
import { api } from '../api';
import { wordDiff } from '../diff';
import { CallStats, ErrorBox, href, MessageList, PassBadge } from '../util';
import type { Matrix } from './RunView';

export function CaseDetail({ run, matrix, caseId, visible, query }: { run: RunDetail; matrix: Matrix; caseId: string; visible: string[]; query: URLSearchParams }) {
  const c = matrix.cases.get(caseId);
  const byCand = matrix.cell.get(caseId);
  const cands = matrix.cands.filter((id) => byCand?.has(id));
  // The diff starts on the candidate the user came from and the first one
  // that answered differently, since that is the pair worth reading.
  const focus = query.get('c') && cands.includes(query.get('c')!) ? query.get('c')! : cands[0];
  const other = cands.find((id) => id !== focus && byCand?.get(id)?.[0]?.answer !== byCand?.get(focus)?.[0]?.answer) ?? cands.find((id) => id !== focus) ?? focus;
  const [a, setA] = useState(focus);
  const [b, setB] = useState(other);
  const idx = visible.indexOf(caseId);
  const prev = idx > 0 ? visible[idx - 1] : undefined;
  const next = idx >= 0 && idx < visible.length - 1 ? visible[idx + 1] : undefined;
  const back = href('runs', run.run.id);
  const pg = `#/playground?${[`case=${encodeURIComponent(caseId)}`, ...[a, b].filter((x, i, all) => x && all.indexOf(x) === i && run.run.candidates.some((rc) => rc.id === x)).map((x) => `candidate=${encodeURIComponent(x)}`)].join('&')}`;

  if (!byCand) {
    return (
      <>
        <h1 id="run-title">Case {caseId}</h1>
        <ErrorBox message={`Run ${run.run.id} has no results for case ${caseId}.`} />
        <a href={back}>Back to the matrix</a>
      </>
    );
  }
  return (
    <>
      <h1 id="run-title">
        Case <span className="mono">{caseId}</span>
      </h1>
      <nav className="pager" aria-label="Cases">
        <a href={back}>← Matrix</a>
        {prev ? <a href={href('runs', run.run.id, 'cases', prev)}>Previous case</a> : <span className="muted">Previous case</span>}
        {next ? <a href={href('runs', run.run.id, 'cases', next)}>Next case</a> : <span className="muted">Next case</span>}
        <a href={pg}>Try in the playground</a>
      </nav>
      <div className="panel">
        <h2 className="sr-only">Input</h2>
        <dl className="kv">
          <dt>Input</dt>
          <dd>
            <pre className="output">{c?.input ?? '(not in the current test split)'}</pre>
          </dd>
          <dt>Expected</dt>
          <dd>
            <strong>{c?.expected || '–'}</strong>
          </dd>
          {c?.meta &&
            Object.entries(c.meta).map(([k, v]) => (
              <div key={k} className="kvrow">
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
        </dl>
      </div>

      <h2>Answers</h2>
      <div className="side">
        {cands.map((id) => (
          <AnswerCard key={id} cand={id} caseId={caseId} rs={byCand.get(id)!} primary={run.run.primary_scorer} />
        ))}
      </div>

      {cands.length > 1 && (
        <section className="panel" aria-labelledby="diff-title">
          <h2 id="diff-title">Diff of two outputs</h2>
          <div className="two">
            <div>
              <label htmlFor="diff-a">From</label>
              <select id="diff-a" value={a} onChange={(e) => setA(e.target.value)}>
                {cands.map((id) => (
                  <option key={id}>{id}</option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="diff-b">To</label>
              <select id="diff-b" value={b} onChange={(e) => setB(e.target.value)}>
                {cands.map((id) => (
                  <option key={id}>{id}</option>
                ))}
              </select>
            </div>
          </div>
          <Diff a={byCand.get(a)?.[0]?.output ?? ''} b={byCand.get(b)?.[0]?.output ?? ''} />
        </section>
      )}
    </>
  );
}

function Diff({ a, b }: { a: string; b: string }) {
  const parts = useMemo(() => wordDiff(a, b), [a, b]);
  if (a === b) return <p className="muted">The two outputs are identical.</p>;
  return (
    <>
      <p className="hint">
        <del>removed</del> words are only in the first output, <ins>added</ins> words only in the second.
      </p>
      <pre className="output diff" data-testid="diff">
        {parts.map((p, i) => (p.op === 'same' ? <span key={i}>{p.text}</span> : p.op === 'add' ? <ins key={i}>{p.text}</ins> : <del key={i}>{p.text}</del>))}
      </pre>
    </>
  );
}

function AnswerCard({ cand, caseId, rs, primary }: { cand: string; caseId: string; rs: CallResult[]; primary: string }) {
  return (
    <div className="card" data-testid="case-answer">
      <h3 className="mono">{cand}</h3>
      <RenderedPrompt cand={cand} caseId={caseId} />
      {rs.map((r) => (
        <div key={r.repeat} className="repeat">
          {rs.length > 1 && <h4>Repeat {r.repeat + 1}</h4>}
          <div className="answerline">
            <PassBadge pass={r.pass} /> <span className="answer">{r.answer || <em className="muted">empty answer</em>}</span>
          </div>
          <ErrorBox message={r.error ?? ''} />
          <details open={rs.length === 1}>
            <summary>Output</summary>
            <pre className="output">{r.output}</pre>
          </details>
          {r.scores && Object.keys(r.scores).length > 0 && (
            <table className="data compact">
              <caption className="sr-only">Scores of {cand}</caption>
              <thead>
                <tr>
                  <th scope="col">scorer</th>
                  <th scope="col" className="num">value</th>
                  <th scope="col">pass</th>
                  <th scope="col">reason</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(r.scores).map(([name, s]) => (
                  <tr key={name}>
                    <th scope="row">
                      {name}
                      {name === primary && <span className="tag">primary</span>}
                    </th>
                    <td className="num">{s.value.toFixed(2)}</td>
                    <td>{s.pass ? 'yes' : 'no'}</td>
                    <td>{s.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {r.retrieved && r.retrieved.length > 0 && (
            <p className="hint">
              Retrieved chunks: <span className="mono">{r.retrieved.join(', ')}</span>
            </p>
          )}
          <CallStats tokensIn={r.tokens_in} tokensOut={r.tokens_out} latencyMs={r.latency_ms} cost={r.cost} cached={r.cached} />
        </div>
      ))}
    </div>
  );
}

// RenderedPrompt shows what the candidate sends its model for the case,
// rendered by the server (no model call) when the section is opened.
function RenderedPrompt({ cand, caseId }: { cand: string; caseId: string }) {
  const [msgs, setMsgs] = useState<Message[] | null>(null);
  const [err, setErr] = useState('');
  const load = (open: boolean) => {
    if (!open || msgs || err) return;
    api<{ messages: Message[] }>('/api/render', { method: 'POST', body: { candidate: cand, case_id: caseId } })
      .then((r) => setMsgs(r.messages))
      .catch((e: Error) => setErr(e.message));
  };
  return (
    <details onToggle={(e) => load((e.target as HTMLDetailsElement).open)}>
      <summary>Rendered prompt</summary>
      <ErrorBox message={err} />
      {msgs === null && !err && <p className="muted">Loading…</p>}
      {msgs && <MessageList messages={msgs} />}
    </details>
  );
}
