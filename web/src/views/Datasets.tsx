// The dataset: its splits and their sizes, the labels' counts per split,
// and a searchable, paged view of every row, each of which can be fixed
// in place (PUT /api/cases/{id} rewrites that row of its data file).
import { Fragment, useEffect, useRef, useState } from 'react';
import { allCases } from '../api';
import type { CasesPage, LabInfo } from '../types';
import { ErrorBox, type Loaded, Loading, Status, useApi } from '../util';
import { RowEditor } from './RowEditor';

const splits = ['train', 'validation', 'test'];
const pageSize = 50;

export function Datasets({ lab }: { lab: Loaded<LabInfo> }) {
  return (
    <section aria-labelledby="ds-title">
      <h1 id="ds-title">Datasets</h1>
      <Status l={lab} what="the lab">
        {(l) => (
          <>
            <p className="lead">
              Dataset version <span className="mono">{l.dataset_version}</span>. Prompt optimisation reads the validation split;
              every candidate is scored on the same test split.
            </p>
            <div className="cards3">
              {splits.map((s) => (
                <div key={s} className="panel stat">
                  <div className="muted">{s}</div>
                  <div className="big">{(l.splits[s] ?? 0).toLocaleString('en-US')}</div>
                  <div className="muted">rows</div>
                </div>
              ))}
            </div>
            {l.task.output === 'label' && (l.task.labels?.length ?? 0) > 0 && (
              <LabelCounts key={l.dataset_version} labels={l.task.labels!} />
            )}
            <Browser labels={l.task.output === 'label' ? (l.task.labels ?? []) : []} onSaved={lab.reload} />
          </>
        )}
      </Status>
    </section>
  );
}

// LabelCounts reads every split whole to count its expected labels.
function LabelCounts({ labels }: { labels: string[] }) {
  const [counts, setCounts] = useState<Record<string, Map<string, number>> | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    Promise.all(splits.map((s) => allCases(s, '', ctl.signal)))
      .then((pages) => {
        const out: Record<string, Map<string, number>> = {};
        pages.forEach((p, i) => {
          const m = new Map<string, number>();
          for (const r of p.rows) m.set(r.expected ?? '', (m.get(r.expected ?? '') ?? 0) + 1);
          out[splits[i]] = m;
        });
        setCounts(out);
      })
      .catch((e: Error) => e.name !== 'AbortError' && setErr(e.message));
    return () => ctl.abort();
  }, []);
  if (err) return <ErrorBox message={err} />;
  if (!counts) return <Loading what="label counts" />;
  const extra = new Set<string>();
  for (const m of Object.values(counts)) for (const k of m.keys()) if (!labels.includes(k)) extra.add(k);
  const rows = [...labels, ...extra];
  const max = Math.max(1, ...Object.values(counts).flatMap((m) => [...m.values()]));
  return (
    <section className="panel" aria-labelledby="labels-title">
      <h2 id="labels-title">Labels per split</h2>
      <table className="data compact">
        <thead>
          <tr>
            <th scope="col">label</th>
            {splits.map((s) => (
              <th key={s} scope="col" className="num">
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((lab) => (
            <tr key={lab}>
              <th scope="row">
                {lab || <em>(no expected answer)</em>}
                {!labels.includes(lab) && <span className="tag warn">not a task label</span>}
              </th>
              {splits.map((s) => {
                const n = counts[s].get(lab) ?? 0;
                return (
                  <td key={s} className="num bar">
                    <span className="barfill" style={{ width: `${(100 * n) / max}%` }} aria-hidden="true" />
                    <span className="barnum">{n}</span>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Browser({ labels, onSaved }: { labels: string[]; onSaved: () => void }) {
  const [split, setSplit] = useState('test');
  const [editing, setEditing] = useState('');
  const [saved, setSaved] = useState('');
  // Focus goes back to a row's Edit button when its form closes.
  const editButtons = useRef(new Map<string, HTMLButtonElement>());
  const savedRef = useRef<HTMLParagraphElement>(null);
  const close = (id: string) => {
    setEditing('');
    requestAnimationFrame(() => editButtons.current.get(id)?.focus());
  };
  const [q, setQ] = useState('');
  const [debounced, setDebounced] = useState('');
  const [offset, setOffset] = useState(0);
  useEffect(() => {
    const t = setTimeout(() => {
      setDebounced(q);
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [q]);
  const page = useApi<CasesPage>(`/api/cases?split=${split}&q=${encodeURIComponent(debounced)}&limit=${pageSize}&offset=${offset}`);
  const total = page.data?.total ?? 0;
  return (
    <section className="panel" aria-labelledby="rows-title">
      <h2 id="rows-title">Rows</h2>
      <div className="filters">
        <label htmlFor="ds-split" className="inline">
          Split
        </label>
        <select
          id="ds-split"
          value={split}
          onChange={(e) => {
            setSplit(e.target.value);
            setOffset(0);
          }}
        >
          {splits.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <label htmlFor="ds-q" className="inline">
          Search
        </label>
        <input id="ds-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="words in the input or expected answer" />
        <span className="muted" aria-live="polite">
          {page.data ? `${total.toLocaleString('en-US')} rows` : ''}
        </span>
      </div>
      <ErrorBox message={page.error} />
      {saved && (
        <p className="ok" role="status" data-testid="edit-saved" ref={savedRef} tabIndex={-1}>
          {saved}
        </p>
      )}
      {page.data && (
        <>
          <div className="tablewrap">
            <table className="data">
              <caption className="sr-only">Rows of the {split} split</caption>
              <thead>
                <tr>
                  <th scope="col">id</th>
                  <th scope="col">input</th>
                  <th scope="col">expected</th>
                  <th scope="col">meta</th>
                  <th scope="col">
                    <span className="sr-only">actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.rows.map((r) => (
                  <Fragment key={r.id}>
                    <tr className={editing === r.id ? 'picked' : undefined}>
                      <th scope="row" className="mono">
                        {r.id}
                      </th>
                      <td className="wrap">{r.input}</td>
                      <td data-testid="row-expected">{r.expected}</td>
                      <td className="muted">
                        {r.meta &&
                          Object.entries(r.meta)
                            .map(([k, v]) => `${k}=${v}`)
                            .join(', ')}
                      </td>
                      <td>
                        <button
                          type="button"
                          ref={(b) => {
                            if (b) editButtons.current.set(r.id, b);
                            else editButtons.current.delete(r.id);
                          }}
                          aria-label={`Edit row ${r.id}`}
                          aria-expanded={editing === r.id}
                          onClick={() => {
                            setSaved('');
                            setEditing(editing === r.id ? '' : r.id);
                          }}
                        >
                          Edit
                        </button>
                      </td>
                    </tr>
                    {editing === r.id && (
                      <tr className="editrow">
                        <td colSpan={5}>
                          <RowEditor
                            row={r}
                            split={split}
                            labels={labels}
                            onCancel={() => close(r.id)}
                            onSaved={(res) => {
                              // Focus goes to the confirmation: a row whose
                              // id came from its content has a new one.
                              setSaved(res.message);
                              setEditing('');
                              page.reload();
                              onSaved();
                              requestAnimationFrame(() => savedRef.current?.focus());
                            }}
                          />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))}>
              Previous
            </button>
            <span>
              {total === 0 ? 0 : offset + 1}–{Math.min(offset + pageSize, total)} of {total}
            </span>
            <button type="button" disabled={offset + pageSize >= total} onClick={() => setOffset(offset + pageSize)}>
              Next
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
