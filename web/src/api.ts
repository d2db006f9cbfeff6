// The admin API client. Every call goes through `api`, which sends the
// admin token when the user gave one and turns the API's error envelope
// (`{"error":{"message"}}`) into an Error whose message is the server's.

const tokenKey = 'tunelab-admin-token';

export function adminToken(): string {
  return sessionStorage.getItem(tokenKey) ?? '';
}

export function setAdminToken(t: string): void {
  if (t) sessionStorage.setItem(tokenKey, t);
  else sessionStorage.removeItem(tokenKey);
}

export class APIError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

// Listeners told when the server asks for the admin token, so the app can
// show the token form wherever the 401 came from.
const unauthorized = new Set<() => void>();
export function onUnauthorized(f: () => void): () => void {
  unauthorized.add(f);
  return () => unauthorized.delete(f);
}

export async function api<T>(path: string, init?: { method?: string; body?: unknown; signal?: AbortSignal }): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const tok = adminToken();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let body: string | undefined;
  if (init?.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method: init?.method ?? 'GET', headers, body, signal: init?.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new APIError(0, `cannot reach tunelab (${path}): is \`tunelab serve\` still running?`);
  }
  const text = await resp.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (!resp.ok) throw new APIError(resp.status, `${path}: ${resp.status} ${text.slice(0, 200)}`);
      throw new APIError(resp.status, `${path}: the answer is not JSON`);
    }
  }
  if (!resp.ok) {
    if (resp.status === 401) unauthorized.forEach((f) => f());
    const msg = (data as { error?: { message?: string } } | null)?.error?.message;
    throw new APIError(resp.status, msg || `${path}: HTTP ${resp.status}`);
  }
  return data as T;
}

// pages fetches every row of a paged listing (GET /api/cases), a page at a
// time, so a split of any size is read whole.
export async function allCases(split: string, q = '', signal?: AbortSignal) {
  const rows: import('./types').CaseRow[] = [];
  const limit = 500;
  for (let offset = 0; ; offset += limit) {
    const page = await api<import('./types').CasesPage>(
      `/api/cases?split=${encodeURIComponent(split)}&q=${encodeURIComponent(q)}&limit=${limit}&offset=${offset}`,
      { signal },
    );
    rows.push(...page.rows);
    if (page.rows.length === 0 || rows.length >= page.total) return { total: page.total, rows };
  }
}
