// The form that fixes one dataset row: its input and expected answer,
// saved with PUT /api/cases/{id}. Escape cancels, Ctrl+Enter saves, and
// the server's refusal (a label the task lacks, a row the file's format
// cannot hold) is shown in the form.
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { api } from '../api';
import type { CaseEdited, CaseRow } from '../types';
import { ErrorBox } from '../util';

export function RowEditor({
  row,
  split,
  labels,
  onCancel,
  onSaved,
}: {
  row: CaseRow;
  split: string;
  labels: string[];
  onCancel: () => void;
  onSaved: (r: CaseEdited) => void;
}) {
  const [input, setInput] = useState(row.input);
  const [expected, setExpected] = useState(row.expected ?? '');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const inputRef = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    // Start typing where a fix usually goes: at the end of the text.
    const el = inputRef.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const base = `edit-${row.id}`;

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    setErr('');
    if (!input.trim()) {
      setErr('The input is empty: every row needs an input.');
      inputRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const res = await api<CaseEdited>(`/api/cases/${encodeURIComponent(row.id)}`, {
        method: 'PUT',
        body: { input, expected, split },
      });
      onSaved(res);
    } catch (e2) {
      setErr((e2 as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const keys = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onCancel();
    } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void submit();
    }
  };
  // A label the task does not list stays choosable, so an old row's value
  // shows as it is rather than as the first label.
  const options = labels.includes(expected) || expected === '' ? labels : [expected, ...labels];

  return (
    <form className="rowedit" onSubmit={submit} onKeyDown={keys} aria-labelledby={`${base}-title`}>
      <h3 id={`${base}-title`}>
        Fix row <span className="mono">{row.id}</span>
      </h3>
      <label htmlFor={`${base}-input`}>Input</label>
      <textarea
        id={`${base}-input`}
        ref={inputRef}
        className="rowedit-input"
        rows={Math.min(10, Math.max(3, input.split('\n').length + 1))}
        value={input}
        onChange={(e) => setInput(e.target.value)}
        aria-describedby={`${base}-hint`}
        aria-required="true"
      />
      <label htmlFor={`${base}-expected`}>Expected answer</label>
      {labels.length > 0 ? (
        <select id={`${base}-expected`} className="rowedit-expected" value={expected} onChange={(e) => setExpected(e.target.value)}>
          {expected === '' && <option value="">(none)</option>}
          {options.map((l) => (
            <option key={l} value={l}>
              {l}
              {labels.includes(l) ? '' : ' (not a task label)'}
            </option>
          ))}
        </select>
      ) : (
        <textarea
          id={`${base}-expected`}
          className="rowedit-expected"
          rows={2}
          value={expected}
          onChange={(e) => setExpected(e.target.value)}
        />
      )}
      <p className="hint" id={`${base}-hint`}>
        Saving rewrites this row in the lab's data file and gives the dataset a new version; stored runs keep the
        version they measured. Ctrl+Enter saves, Escape cancels.
      </p>
      <ErrorBox message={err} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
