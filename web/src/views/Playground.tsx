// The playground: run one or more candidates, and an edited prompt, on
// free text or chosen test cases, and compare their answers side by side.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api } from '../api';
import type { CandidateRef, CasesPage, LabInfo, PlaygroundResult, Variant } from '../types';
import { CallStats, ErrorBox, type Loaded, Loading, MessageList, PassBadge, Status, useApi } from '../util';

interface Edit {
  on: boolean;
  from: string;
  model: string;
  variant: Variant;
}

export function Playground({ lab, query }: { lab: Loaded<LabInfo>; query: URLSearchParams }) {
  return (
    <section aria-labelledby="pg-title">
      <h1 id="pg-title">Playground</h1>
      <p className="lead">
        Run candidates side by side on your own text or on test cases; edit a prompt and save it as a new variant.
      </p>
      <Status l={lab} what="the lab">
        {(l) => <PlaygroundForm lab={l} reloadLab={lab.reload} query={query} />}
      </Status>
    </section>
  );
}

function PlaygroundForm({ lab, reloadLab, query }: { lab: LabInfo; reloadLab: () => void; query: URLSearchParams }) {
  const initial = query.getAll('candidate').filter((id) => lab.candidates.some((c) => c.id === id));
  const [selected, setSelected] = useState<string[]>(initial.length ? initial : lab.candidates.slice(0, 1).map((c) => c.id));
  const [edit, setEdit] = useState<Edit>(() => startEdit(lab, lab.candidates[0]?.id ?? ''));
  const initialCases = query.getAll('case');
  const [mode, setMode] = useState<'text' | 'cases'>(initialCases.length ? 'cases' : 'text');
  const [text, setText] = useState('');
  const [caseIds, setCaseIds] = useState<string[]>(initialCases);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState('');
  const [results, setResults] = useState<PlaygroundResult[] | null>(null);

  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  const run = async (e: FormEvent) => {
    e.preventDefault();
    const refs: CandidateRef[] = selected.map((id) => ({ id }));
    if (edit.on) refs.push({ model: edit.model, variant: edit.variant });
    if (refs.length === 0) {
      setError('Pick at least one candidate, or turn on the edited prompt.');
      return;
    }
    if (mode === 'text' && !text.trim()) {
      setError('Type an input to run the candidates on.');
      return;
    }
    if (mode === 'cases' && caseIds.length === 0) {
      setError('Pick at least one test case.');
      return;
    }
    setError('');
    setRunning(true);
    try {
      const body = mode === 'text' ? { candidates: refs, input: text } : { candidates: refs, case_ids: caseIds };
      const r = await api<{ results: PlaygroundResult[] }>('/api/playground', { method: 'POST', body });
      setResults(r.results);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setRunning(false);
    }
  };

  return (
    <>
      <form onSubmit={run} className="pg-grid">
        <div>
          <fieldset className="panel">
            <legend>Candidates</legend>
            <p className="hint">Model and prompt variant pairs from tunelab.yaml.</p>
            <ul className="checklist" aria-label="Candidates">
              {lab.candidates.map((c) => (
                <li key={c.id}>
                  <label>
                    <input type="checkbox" checked={selected.includes(c.id)} onChange={() => toggle(c.id)} />
                    <span className="mono">{c.id}</span>
                    {c.variant.technique && <span className="tag">{c.variant.technique}</span>}
                    {c.retrieval && <span className="tag">RAG {c.retrieval.mode}</span>}
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
          <fieldset className="panel">
            <legend>Input</legend>
            <div className="seg" role="radiogroup" aria-label="Input source">
              <label>
                <input type="radio" name="mode" checked={mode === 'text'} onChange={() => setMode('text')} /> Free text
              </label>
              <label>
                <input type="radio" name="mode" checked={mode === 'cases'} onChange={() => setMode('cases')} /> Test cases
              </label>
            </div>
            {mode === 'text' ? (
              <>
                <label htmlFor="pg-input">Input text</label>
                <textarea id="pg-input" rows={4} value={text} onChange={(e) => setText(e.target.value)} placeholder="Type what a user would send…" />
              </>
            ) : (
              <CasePicker selected={caseIds} setSelected={setCaseIds} />
            )}
            <div className="actions">
              <button type="submit" className="primary" disabled={running}>
                {running ? 'Running…' : 'Run'}
              </button>
              {running && (
                <span role="status" className="muted">
                  Local models can take a few seconds per call.
                </span>
              )}
            </div>
            <ErrorBox message={error} />
          </fieldset>
        </div>

        <EditPanel lab={lab} edit={edit} setEdit={setEdit} onSaved={reloadLab} />
      </form>
      {results && <Results results={results} />}
    </>
  );
}

function startEdit(lab: LabInfo, candidateId: string): Edit {
  const c = lab.candidates.find((x) => x.id === candidateId);
  const base: Variant = c ? structuredClone(c.variant) : { name: 'custom', template: '{{.Input}}' };
  return { on: false, from: candidateId, model: c?.model ?? lab.models[0] ?? '', variant: { ...base, name: `${base.name}-edited` } };
}

function EditPanel({ lab, edit, setEdit, onSaved }: { lab: LabInfo; edit: Edit; setEdit: (e: Edit) => void; onSaved: () => void }) {
  const [saveMsg, setSaveMsg] = useState('');
  const [saveErr, setSaveErr] = useState('');
  const [saving, setSaving] = useState(false);
  const v = edit.variant;
  const setV = (patch: Partial<Variant>) => setEdit({ ...edit, variant: { ...v, ...patch } });
  const save = async () => {
    setSaveMsg('');
    setSaveErr('');
    if (!v.name.trim()) {
      setSaveErr('Give the variant a name first.');
      return;
    }
    setSaving(true);
    try {
      const r = await api<{ name: string }>('/api/prompts', { method: 'POST', body: { variant: v } });
      setSaveMsg(`Saved as prompt "${r.name}" in tunelab.yaml; it joins the next evaluation.`);
      onSaved();
    } catch (err) {
      setSaveErr((err as Error).message);
    } finally {
      setSaving(false);
    }
  };
  return (
    <fieldset className="panel">
      <legend>Edit a prompt</legend>
      <label className="inline">
        <input type="checkbox" checked={edit.on} onChange={(e) => setEdit({ ...edit, on: e.target.checked })} /> Run the edited prompt too
      </label>
      <div className="two">
        <div>
          <label htmlFor="ed-from">Start from</label>
          <select id="ed-from" value={edit.from} onChange={(e) => setEdit({ ...startEdit(lab, e.target.value), on: edit.on })}>
            {lab.candidates.map((c) => (
              <option key={c.id} value={c.id}>
                {c.id}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="ed-model">Model</label>
          <select id="ed-model" value={edit.model} onChange={(e) => setEdit({ ...edit, model: e.target.value })}>
            {lab.models.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </div>
      </div>
      <label htmlFor="ed-name">Variant name</label>
      <input id="ed-name" value={v.name} onChange={(e) => setV({ name: e.target.value })} />
      <label htmlFor="ed-system">System prompt</label>
      <textarea id="ed-system" rows={2} value={v.system ?? ''} onChange={(e) => setV({ system: e.target.value })} />
      <label htmlFor="ed-instr">Instructions</label>
      <textarea id="ed-instr" rows={3} value={v.instructions ?? ''} onChange={(e) => setV({ instructions: e.target.value })} />
      <label htmlFor="ed-tmpl">
        Template <span className="hint">({'{{.Input}}'} is the case's input)</span>
      </label>
      <textarea id="ed-tmpl" rows={2} className="mono" value={v.template ?? ''} onChange={(e) => setV({ template: e.target.value })} />
      <p className="hint">
        Kept from the base: {describe(v) || 'nothing else'}.
      </p>
      <div className="actions">
        <button type="button" onClick={save} disabled={saving}>
          {saving ? 'Saving…' : 'Save as prompt variant'}
        </button>
      </div>
      {saveMsg && (
        <p className="ok" role="status">
          {saveMsg}
        </p>
      )}
      <ErrorBox message={saveErr} />
    </fieldset>
  );
}

function describe(v: Variant): string {
  const bits: string[] = [];
  if (v.technique) bits.push(`technique ${v.technique}`);
  if (v.few_shot) bits.push(`${v.few_shot.k} ${v.few_shot.select} examples`);
  if (v.chain_of_thought) bits.push('chain-of-thought');
  if (v.json_schema) bits.push('JSON schema');
  return bits.join(', ');
}

function CasePicker({ selected, setSelected }: { selected: string[]; setSelected: (ids: string[]) => void }) {
  const [q, setQ] = useState('');
  const [debounced, setDebounced] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setDebounced(q), 250);
    return () => clearTimeout(t);
  }, [q]);
  const page = useApi<CasesPage>(`/api/cases?split=test&q=${encodeURIComponent(debounced)}&limit=25&offset=0`);
  const toggle = (id: string) => setSelected(selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id]);
  return (
    <div className="casepicker">
      <label htmlFor="pg-q">Search the test split</label>
      <input id="pg-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="words in the input or expected answer" />
      <p className="hint" aria-live="polite">
        {selected.length} selected{selected.length > 0 && `: ${selected.join(', ')}`}
        {selected.length > 0 && (
          <>
            {' '}
            <button type="button" className="link" onClick={() => setSelected([])}>
              clear
            </button>
          </>
        )}
      </p>
      {page.error && <ErrorBox message={page.error} />}
      {!page.data && !page.error && <Loading what="test cases" />}
      {page.data && (
        <ul className="checklist cases" aria-label="Test cases">
          {page.data.rows.map((r) => (
            <li key={r.id}>
              <label>
                <input type="checkbox" checked={selected.includes(r.id)} onChange={() => toggle(r.id)} />
                <span className="mono muted">{r.id}</span> <span className="clip">{r.input}</span>
                {r.expected && <span className="tag">{r.expected}</span>}
              </label>
            </li>
          ))}
          {page.data.total > page.data.rows.length && (
            <li className="muted">
              {page.data.total - page.data.rows.length} more match; narrow the search.
            </li>
          )}
        </ul>
      )}
    </div>
  );
}

function Results({ results }: { results: PlaygroundResult[] }) {
  const groups = useMemo(() => {
    const m = new Map<string, PlaygroundResult[]>();
    for (const r of results) {
      const k = r.case_id || r.input;
      m.set(k, [...(m.get(k) ?? []), r]);
    }
    return [...m.values()];
  }, [results]);
  // New results scroll into view and take focus, so keyboard and screen
  // reader users land on them after pressing Run.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.scrollIntoView({ block: 'start' });
    heading.current?.focus({ preventScroll: true });
  }, [results]);
  return (
    <section aria-labelledby="pg-results" className="results">
      <h2 id="pg-results" ref={heading} tabIndex={-1}>
        Results
      </h2>
      {groups.map((g) => (
        <article key={g[0].case_id || g[0].input} className="panel">
          <header className="casehead">
            {g[0].case_id && g[0].case_id !== 'input' && <span className="mono muted">{g[0].case_id}</span>}
            <p className="input">{g[0].input}</p>
            {g[0].expected && (
              <p>
                Expected: <strong>{g[0].expected}</strong>
              </p>
            )}
          </header>
          <div className="side">
            {g.map((r, i) => (
              <ResultCard key={i} r={r} />
            ))}
          </div>
        </article>
      ))}
    </section>
  );
}

function ResultCard({ r }: { r: PlaygroundResult }) {
  return (
    <div className="card" data-testid="pg-output">
      <h3 className="mono">{r.candidate}</h3>
      {r.error ? (
        <ErrorBox message={r.error} />
      ) : (
        <>
          <div className="answerline">
            <PassBadge pass={r.pass} /> <span className="answer">{r.answer || <em className="muted">empty answer</em>}</span>
          </div>
          <pre className="output">{r.output}</pre>
        </>
      )}
      <CallStats tokensIn={r.tokens_in} tokensOut={r.tokens_out} latencyMs={r.latency_ms} cost={r.cost} />
      {r.retrieved && r.retrieved.length > 0 && (
        <p className="hint">
          Retrieved: <span className="mono">{r.retrieved.join(', ')}</span>
        </p>
      )}
      {r.messages && r.messages.length > 0 && (
        <details>
          <summary>Rendered prompt ({r.messages.length} messages)</summary>
          <MessageList messages={r.messages} />
        </details>
      )}
    </div>
  );
}
