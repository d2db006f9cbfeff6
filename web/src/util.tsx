// Small shared pieces: the hash router, a data-loading hook, number
// formats, and the status components every view uses.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { api } from './api';
import type { Message } from './types';

// The route is the part of the URL after '#', split on '/', with its
// query string: '#/runs/run-1/cases/tk-2?x=1' gives
// ['runs', 'run-1', 'cases', 'tk-2'] and {x: '1'}. A hash router keeps
// every view reachable by link without any server-side routing.
export function parseHash(hash: string): { parts: string[]; query: URLSearchParams } {
  const h = hash.replace(/^#\/?/, '');
  const [path, qs] = h.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs ?? '') };
}

export function useRoute() {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const f = () => setHash(window.location.hash);
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return parseHash(hash);
}

export function href(...parts: string[]): string {
  return '#/' + parts.map(encodeURIComponent).join('/');
}

export interface Loaded<T> {
  data: T | null;
  error: string;
  loading: boolean;
  reload: () => void;
}

// useApi loads path and reloads when it changes; a null path loads nothing.
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setLoading(true);
    setError('');
    api<T>(path, { signal: ctl.signal })
      .then((d) => {
        setData(d);
        setLoading(false);
      })
      .catch((e: Error) => {
        if (e.name === 'AbortError') return;
        setError(e.message);
        setLoading(false);
      });
    return () => ctl.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export function pct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || Number.isNaN(x) || x < 0) return '–';
  return `${(100 * x).toFixed(digits)}%`;
}

export function usd(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '$0';
  // Two significant digits, written out: per-call costs are often tiny.
  if (Math.abs(x) < 0.01) return `$${x.toFixed(Math.min(12, 1 - Math.floor(Math.log10(Math.abs(x)))))}`;
  if (Math.abs(x) < 1000) return `$${x.toFixed(2)}`;
  return `$${Math.round(x).toLocaleString('en-US')}`;
}

export function ms(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  return x < 10 ? `${x.toFixed(1)} ms` : `${Math.round(x).toLocaleString('en-US')} ms`;
}

export function num(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString();
}

export function ErrorBox({ message }: { message: string }) {
  if (!message) return null;
  return (
    <div className="error" role="alert">
      {message}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

// Status shows a loader's error or loading state, else its children.
export function Status<T>({ l, what, children }: { l: Loaded<T>; what: string; children: (d: T) => ReactNode }) {
  if (l.error) return <ErrorBox message={l.error} />;
  if (l.data === null) return <Loading what={what} />;
  return <>{children(l.data)}</>;
}

export function PassBadge({ pass }: { pass: boolean | null | undefined }) {
  if (pass === null || pass === undefined) return <span className="badge neutral">no reference</span>;
  return pass ? <span className="badge pass">pass</span> : <span className="badge fail">fail</span>;
}

// MessageList shows a prompt's messages, role by role; every view that
// shows a rendered prompt uses it.
export function MessageList({ messages }: { messages: Message[] }) {
  return (
    <>
      {messages.map((m, i) => (
        <div key={i} className="msg" data-testid="rendered-message">
          <div className="role">{m.role}</div>
          <pre>{m.content}</pre>
        </div>
      ))}
    </>
  );
}

// CallStats shows what one call cost: tokens, latency and money.
export function CallStats({ tokensIn, tokensOut, latencyMs, cost, cached }: { tokensIn: number; tokensOut: number; latencyMs: number; cost: number; cached?: boolean }) {
  return (
    <dl className="stats">
      <div>
        <dt>tokens</dt>
        <dd>
          {tokensIn} in / {tokensOut} out
        </dd>
      </div>
      <div>
        <dt>latency</dt>
        <dd>
          {ms(latencyMs)}
          {cached ? ' (cached)' : ''}
        </dd>
      </div>
      <div>
        <dt>cost</dt>
        <dd>{usd(cost)}</dd>
      </div>
    </dl>
  );
}
