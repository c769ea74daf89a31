// /config.json of an AWS deployment (written by the CDK stack next to index.html); absent locally.

export interface ConsoleConfig {
  region: string;
  userPoolId: string;
  userPoolClientId: string;
  /** The hosted UI base, e.g. https://<prefix>.auth.<region>.amazoncognito.com. */
  signInUrl: string;
  /** Where the API is, e.g. /api. */
  apiBase: string;
}

const FIELDS = ['region', 'userPoolId', 'userPoolClientId', 'signInUrl', 'apiBase'] as const;

/** Checks the parsed /config.json; an Error naming the bad field and what was expected. */
export function parseConfig(value: unknown): ConsoleConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('/config.json: expected a JSON object');
  const v = value as Record<string, unknown>;
  for (const f of FIELDS) {
    if (typeof v[f] !== 'string' || v[f] === '') throw new Error(`/config.json: ${f} is ${JSON.stringify(v[f])}: expected a non-empty string`);
  }
  const config = Object.fromEntries(FIELDS.map((f) => [f, v[f]])) as unknown as ConsoleConfig;
  let url: URL;
  try {
    url = new URL(config.signInUrl);
  } catch {
    throw new Error(`/config.json: signInUrl ${JSON.stringify(config.signInUrl)} is not a URL: expected https://<domain>`);
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(`/config.json: signInUrl ${JSON.stringify(config.signInUrl)}: expected an https:// URL`);
  }
  if (!config.apiBase.startsWith('/')) throw new Error(`/config.json: apiBase ${JSON.stringify(config.apiBase)}: expected a path starting with /`);
  return { ...config, apiBase: config.apiBase.replace(/\/+$/, '') };
}

/**
 * The deployment's config: null when the server has no /config.json (local mode: 404, or a page
 * instead of JSON as a dev server's SPA fallback answers); an Error when it exists but is broken.
 */
export async function loadConfig(fetchFn: typeof fetch = fetch): Promise<ConsoleConfig | null> {
  const res = await fetchFn('/config.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`/config.json answered ${res.status}: expected 200 (AWS) or 404 (local)`);
  if (!(res.headers.get('content-type') ?? '').includes('json')) return null;
  return parseConfig(await res.json());
}
