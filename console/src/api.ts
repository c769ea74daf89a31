// The console's API client: bearer token from the session, JSON in and out, typed errors.
import type { PolicyProblem } from './types.ts';

const TOKEN_KEY = 'cloudkeep.token';
let apiBase = '/api';

/** Where the API is (from /config.json in AWS; /api by default). */
export function setApiBase(base: string): void {
  apiBase = base;
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  readonly status: number;
  readonly problems: PolicyProblem[];
  readonly requestId: string | null;

  constructor(status: number, message: string, problems: PolicyProblem[] = [], requestId: string | null = null) {
    super(message);
    this.status = status;
    this.problems = problems;
    this.requestId = requestId;
  }

  /** The server does not offer this endpoint: no such route yet (404), or not in this deployment (501). */
  get unavailable(): boolean {
    return this.status === 501 || (this.status === 404 && /^(no route|method \S+ is not supported)/.test(this.message));
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when the server rejects the token (401), e.g. to show the login page. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const token = getToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${apiBase}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    throw new ApiError(res.status, `the server answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    if (res.status === 401) for (const l of unauthorizedListeners) l();
    const message = typeof json.message === 'string' ? json.message : `request failed with status ${res.status}`;
    throw new ApiError(res.status, message, Array.isArray(json.problems) ? (json.problems as PolicyProblem[]) : [], typeof json.requestId === 'string' ? json.requestId : null);
  }
  return json as T;
}

/** `/accounts/{account}` + rest, with the account id URL-encoded. */
export function accountPath(account: string, rest = ''): string {
  return `/accounts/${encodeURIComponent(account)}${rest}`;
}
