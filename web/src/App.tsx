// The shell: navigation, the admin token form, and the view the hash
// route names.
import { lazy, Suspense, useEffect, useState, type FormEvent } from 'react';
import { adminToken, onUnauthorized, setAdminToken } from './api';
import { useApi, useRoute } from './util';
import type { LabInfo } from './types';
import { Playground } from './views/Playground';
import { Runs } from './views/Runs';
import { RunView } from './views/RunView';
import { Datasets } from './views/Datasets';
import { Deployments } from './views/Deployments';

// The ladder view carries the chart library; it loads when first opened.
const Ladder = lazy(() => import('./views/Ladder').then((m) => ({ default: m.Ladder })));

const sections = [
  { key: 'playground', title: 'Playground' },
  { key: 'runs', title: 'Runs' },
  { key: 'ladder', title: 'Ladder & verdict' },
  { key: 'datasets', title: 'Datasets' },
  { key: 'deployments', title: 'Deployments' },
];

export function App() {
  const { parts, query } = useRoute();
  const section = parts[0] ?? 'playground';
  const [needToken, setNeedToken] = useState(false);
  const [tokenEpoch, setTokenEpoch] = useState(0);
  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);
  const lab = useApi<LabInfo>(`/api/lab?t=${tokenEpoch}`);

  useEffect(() => {
    const title = sections.find((s) => s.key === section)?.title ?? 'tunelab';
    document.title = `${title} · tunelab${lab.data ? ` · ${lab.data.name}` : ''}`;
  }, [section, lab.data]);

  let view;
  switch (section) {
    case 'runs':
      view = parts[1] ? <RunView runId={parts[1]} caseId={parts[3]} query={query} /> : <Runs />;
      break;
    case 'ladder':
      view = <Ladder />;
      break;
    case 'datasets':
      view = <Datasets lab={lab} />;
      break;
    case 'deployments':
      view = <Deployments name={parts[1]} traceId={parts[3]} />;
      break;
    default:
      view = <Playground lab={lab} query={query} />;
  }

  return (
    <div className="shell" key={tokenEpoch}>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true">◆</span> tunelab
        </div>
        {lab.data && (
          <div className="labname" title={lab.data.task.description}>
            {lab.data.name}
            {lab.data.task.name !== lab.data.name && <span className="muted"> · {lab.data.task.name}</span>}
          </div>
        )}
        <nav aria-label="Sections">
          <ul>
            {sections.map((s) => (
              <li key={s.key}>
                <a href={`#/${s.key}`} aria-current={section === s.key ? 'page' : undefined}>
                  {s.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      {needToken && (
        <TokenForm
          onDone={() => {
            setNeedToken(false);
            setTokenEpoch((e) => e + 1);
          }}
        />
      )}
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="muted">Loading…</p>}>{view}</Suspense>
      </main>
    </div>
  );
}

// TokenForm asks for the admin token when the server was started with
// --admin-token-env; it is kept for this browser tab only.
function TokenForm({ onDone }: { onDone: () => void }) {
  const [tok, setTok] = useState(adminToken());
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAdminToken(tok.trim());
    onDone();
  };
  return (
    <form className="panel token" onSubmit={submit} role="dialog" aria-labelledby="token-title">
      <h2 id="token-title">Admin token required</h2>
      <p>
        This server guards its admin surface with a token (<code>tunelab serve --admin-token-env</code>). Enter it to
        continue; it is kept in this tab only.
      </p>
      <label htmlFor="admin-token">Admin token</label>
      <div className="row">
        <input id="admin-token" type="password" autoComplete="off" value={tok} onChange={(e) => setTok(e.target.value)} autoFocus />
        <button type="submit" className="primary">
          Use token
        </button>
      </div>
    </form>
  );
}
