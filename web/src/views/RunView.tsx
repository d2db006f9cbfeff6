// One run: its summary, the matrix of candidates × cases with filters,
// and a case's detail with a diff between two candidates' outputs.
import { useEffect, useMemo, useState } from 'react';
import { allCases } from '../api';
import type { CallResult, Candidate, CaseRow, RunDetail } from '../types';
import { SummaryTable } from '../components/SummaryTable';
import { CaseDetail } from './CaseDetail';
import { ErrorBox, href, Loading, Status, useApi, when } from '../util';

// The matrix's data, indexed: results by case then candidate, every
// repeat in order.
export interface Matrix {
  caseIds: string[];
  cands: string[];
  cell: Map<string, Map<string, CallResult[]>>;
  cases: Map<string, CaseRow>;
  info: Map<string, Candidate>;
}

function buildMatrix(d: RunDetail, rows: CaseRow[]): Matrix {
  const cell = new Map<string, Map<string, CallResult[]>>();
  const order: string[] = [];
  for (const r of d.results) {
    let byCand = cell.get(r.case_id);
    if (!byCand) {
      byCand = new Map();
      cell.set(r.case_id, byCand);
      order.push(r.case_id);
    }
    byCand.set(r.candidate_id, [...(byCand.get(r.candidate_id) ?? []), r]);
  }
  for (const rs of cell.values()) for (const list of rs.values()) list.sort((a, b) => a.repeat - b.repeat);
  const cases = new Map(rows.map((r) => [r.id, r]));
  // Cases in the split's order where known, so the matrix reads like the data.
  const pos = new Map(rows.map((r, i) => [r.id, i]));
  order.sort((a, b) => (pos.get(a) ?? 1e9) - (pos.get(b) ?? 1e9) || a.localeCompare(b));
  // Candidates in the summary's order: best first.
  const cands = d.summary.candidates.length ? d.summary.candidates.map((c) => c.id) : d.run.candidates.map((c) => c.id);
  return { caseIds: order, cands, cell, cases, info: new Map(d.run.candidates.map((c) => [c.id, c])) };
}

export function failed(m: Matrix, id: string): boolean {
  const byCand = m.cell.get(id);
  return !!byCand && [...byCand.values()].some((rs) => rs.some((r) => !r.pass));
}

export function disagrees(m: Matrix, id: string): boolean {
  const byCand = m.cell.get(id);
  if (!byCand) return false;
  const answers = new Set<string>();
  const passes = new Set<boolean>();
  for (const rs of byCand.values()) {
    if (!rs[0]) continue;
    answers.add(rs[0].answer.trim().toLowerCase());
    passes.add(rs[0].pass);
  }
  return answers.size > 1 || passes.size > 1;
}

export function RunView({ runId, caseId, query }: { runId: string; caseId?: string; query: URLSearchParams }) {
  const run = useApi<RunDetail>(`/api/runs/${encodeURIComponent(runId)}`);
  const [rows, setRows] = useState<CaseRow[] | null>(null);
  const [casesErr, setCasesErr] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    allCases('test', '', ctl.signal)
      .then((p) => setRows(p.rows))
      .catch((e: Error) => e.name !== 'AbortError' && setCasesErr(e.message));
    return () => ctl.abort();
  }, []);
  const [failedOnly, setFailedOnly] = useState(false);
  const [disagreeOnly, setDisagreeOnly] = useState(false);
  const [q, setQ] = useState('');
  const matrix = useMemo(() => (run.data && rows ? buildMatrix(run.data, rows) : null), [run.data, rows]);
  const visible = useMemo(() => {
    if (!matrix) return [];
    const needle = q.trim().toLowerCase();
    return matrix.caseIds.filter((id) => {
      if (failedOnly && !failed(matrix, id)) return false;
      if (disagreeOnly && !disagrees(matrix, id)) return false;
      if (!needle) return true;
      const c = matrix.cases.get(id);
      return id.toLowerCase().includes(needle) || !!c?.input.toLowerCase().includes(needle) || !!c?.expected?.toLowerCase().includes(needle);
    });
  }, [matrix, failedOnly, disagreeOnly, q]);

  return (
    <section aria-labelledby="run-title">
      <p className="crumbs">
        <a href="#/runs">Runs</a> / <span className="mono">{runId}</span>
        {caseId && (
          <>
            {' '}
            / <span className="mono">{caseId}</span>
          </>
        )}
      </p>
      <ErrorBox message={casesErr} />
      <Status l={run} what="the run">
        {(d) =>
          !matrix ? (
            <Loading what="the test cases" />
          ) : caseId ? (
            <CaseDetail key={caseId} run={d} matrix={matrix} caseId={caseId} visible={visible} query={query} />
          ) : (
            <>
              <h1 id="run-title">
                Run <span className="mono">{d.run.id}</span>
              </h1>
              <p className="lead">
                {d.run.status} · started {when(d.run.created_at)} · {d.run.cases} cases × {d.run.repeats} repeat
                {d.run.repeats === 1 ? '' : 's'} · primary scorer <strong>{d.run.primary_scorer}</strong>
                {!d.summary.complete && <> · {d.summary.missing_calls} calls missing</>}
              </p>
              <SummaryTable summary={d.summary} caption="Candidates, best first" />
              <h2 id="matrix-title">Matrix</h2>
              <div className="filters" role="group" aria-label="Filters">
                <label className="inline">
                  <input type="checkbox" checked={failedOnly} onChange={(e) => setFailedOnly(e.target.checked)} /> Failed only
                </label>
                <label className="inline">
                  <input type="checkbox" checked={disagreeOnly} onChange={(e) => setDisagreeOnly(e.target.checked)} /> Disagreements
                </label>
                <label htmlFor="mx-q" className="inline">
                  Search
                </label>
                <input id="mx-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="case id, input or expected" />
                <span className="muted" aria-live="polite">
                  {visible.length} of {matrix.caseIds.length} cases
                </span>
              </div>
              <MatrixTable runId={d.run.id} m={matrix} ids={visible} />
            </>
          )
        }
      </Status>
    </section>
  );
}

const pageSize = 100;

function MatrixTable({ runId, m, ids }: { runId: string; m: Matrix; ids: string[] }) {
  const [shown, setShown] = useState(pageSize);
  useEffect(() => setShown(pageSize), [ids]);
  if (ids.length === 0) return <p className="panel">No case matches the filters.</p>;
  return (
    <div className="tablewrap matrixwrap">
      <table className="data matrix" aria-labelledby="matrix-title">
        <thead>
          <tr>
            <th scope="col">case</th>
            <th scope="col">expected</th>
            {m.cands.map((c) => {
              const info = m.info.get(c);
              return (
                <th key={c} scope="col" className="cand" title={c}>
                  <span className="variant">{info?.variant.name ?? c}</span>
                  {info && <span className="model mono">{info.model}</span>}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {ids.slice(0, shown).map((id) => {
            const c = m.cases.get(id);
            const link = href('runs', runId, 'cases', id);
            return (
              <tr key={id}>
                <th scope="row" className="caseid">
                  <a href={link} className="mono">
                    {id}
                  </a>
                  <div className="clip muted">{c?.input ?? 'not in the current test split'}</div>
                </th>
                <td className="clip">{c?.expected}</td>
                {m.cands.map((cand) => (
                  <Cell key={cand} rs={m.cell.get(id)?.get(cand)} link={`${link}?c=${encodeURIComponent(cand)}`} cand={cand} caseId={id} />
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      {ids.length > shown && (
        <button type="button" onClick={() => setShown(shown + pageSize)}>
          Show {Math.min(pageSize, ids.length - shown)} more of {ids.length - shown}
        </button>
      )}
    </div>
  );
}

function Cell({ rs, link, cand, caseId }: { rs?: CallResult[]; link: string; cand: string; caseId: string }) {
  if (!rs || rs.length === 0) return <td className="cell missing">–</td>;
  const passes = rs.filter((r) => r.pass).length;
  const err = rs.some((r) => r.error);
  const cls = err ? 'err' : passes === rs.length ? 'pass' : passes === 0 ? 'fail' : 'mixed';
  const mark = err ? '!' : rs.length === 1 ? (passes ? '✓' : '✗') : `${passes}/${rs.length}`;
  const what = err ? 'error' : rs.length === 1 ? (passes ? 'pass' : 'fail') : `${passes} of ${rs.length} repeats pass`;
  return (
    <td className={`cell ${cls}`}>
      <a href={link} aria-label={`${caseId}, ${cand}: ${what}, answer ${rs[0].answer || 'empty'}`} title={rs[0].answer}>
        <span aria-hidden="true">{mark}</span>
        <span className="ans">{rs[0].answer}</span>
      </a>
    </td>
  );
}
