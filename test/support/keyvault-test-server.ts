// A small HTTP server speaking the Azure Key Vault keys REST API (get key, wrapkey, unwrapkey, bearer challenge) for tests.
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

export const TEST_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const TEST_TOKEN = 'cloudkeep-test-token';

interface KeyVersion {
  version: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  created: number;
}

interface TestKey {
  name: string;
  versions: KeyVersion[];
  enabled: boolean;
  keyOps: string[];
}

class VaultFault extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export interface VaultRequestRecord {
  method: string;
  path: string;
  apiVersion: string | null;
  authorized: boolean;
}

const OAEP_HASH: Record<string, string> = { 'RSA-OAEP': 'sha1', 'RSA-OAEP-256': 'sha256' };

/** One vault with RSA keys whose wrap/unwrap are genuine RSA-OAEP; every request must carry the test bearer token. */
export class KeyVaultTestServer {
  /** Answer the next N authorized requests with 429 Too Many Requests (Retry-After: 0). */
  throttleNext = 0;
  /** Answer every authorized request with 403 Forbidden, as for a principal without key permissions. */
  denyAccess = false;
  readonly requests: VaultRequestRecord[] = [];
  readonly #keys = new Map<string, TestKey>();
  readonly #server: Server;
  #url = '';

  private constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(): Promise<KeyVaultTestServer> {
    const server = new KeyVaultTestServer();
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.#url = `http://127.0.0.1:${(server.#server.address() as AddressInfo).port}`;
    return server;
  }

  /** The vault URL, e.g. http://127.0.0.1:41234 (stands in for https://<vault>.vault.azure.net). */
  get vaultUrl(): string {
    return this.#url;
  }

  /** How many 401 challenges were answered. */
  get challenges(): number {
    return this.requests.filter((r) => !r.authorized).length;
  }

  /** Creates an RSA-2048 key (or a new version of it); returns its versioned and versionless ids. */
  createKey(name: string, keyOps = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']): { id: string; versionlessId: string } {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = this.#keys.get(name) ?? { name, versions: [], enabled: true, keyOps };
    const version = randomBytes(16).toString('hex');
    key.versions.push({ version, privateKey, publicKey, created: Math.floor(Date.now() / 1000) });
    this.#keys.set(name, key);
    return { id: `${this.#url}/keys/${name}/${version}`, versionlessId: `${this.#url}/keys/${name}` };
  }

  setEnabled(name: string, enabled: boolean): void {
    const key = this.#keys.get(name);
    if (key) key.enabled = enabled;
  }

  deleteKey(name: string): void {
    this.#keys.delete(name);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.#url);
    const authorized = req.headers.authorization === `Bearer ${TEST_TOKEN}`;
    this.requests.push({ method: req.method ?? '', path: url.pathname, apiVersion: url.searchParams.get('api-version'), authorized });
    try {
      if (!authorized) {
        // Key Vault's challenge: the client learns the tenant and the resource to ask a token for.
        throw new VaultFault(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${TEST_TENANT}", resource="https://vault.azure.net"`,
        });
      }
      if (!url.searchParams.get('api-version')) throw new VaultFault(400, 'BadParameter', 'The api-version query parameter is missing.');
      if (this.throttleNext > 0) {
        this.throttleNext--;
        throw new VaultFault(429, 'Throttled', 'Request was not processed because too many requests were received.', { 'retry-after': '0' });
      }
      const route = /^\/keys\/([A-Za-z0-9-]+)(?:\/([0-9a-f]*))?(?:\/(wrapkey|unwrapkey))?\/?$/.exec(url.pathname);
      if (!route) throw new VaultFault(404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
      const [, name, version = '', op] = route;
      if (this.denyAccess) {
        throw new VaultFault(403, 'Forbidden', `The user, group or application 'appid=00000000-0000-0000-0000-000000000000' does not have keys ${op ?? 'get'} permission on key vault 'cloudkeep-test'.`);
      }
      const key = this.#keys.get(name);
      const found = key && (version === '' ? key.versions.at(-1) : key.versions.find((v) => v.version === version));
      if (!key || !found) throw new VaultFault(404, 'KeyNotFound', `A key with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.`);
      if (!key.enabled) throw new VaultFault(403, 'Forbidden', `Operation ${op === 'wrapkey' ? 'wrapKey' : op === 'unwrapkey' ? 'unwrapKey' : 'get'} is not allowed on a disabled key.`);
      const kid = `${this.#url}/keys/${name}/${found.version}`;
      if (req.method === 'GET' && !op) return this.#send(res, 200, this.#bundle(key, found, kid));
      if (req.method !== 'POST' || !op) throw new VaultFault(405, 'MethodNotAllowed', `${req.method} is not allowed here`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { alg?: string; value?: string };
      const hash = OAEP_HASH[body.alg ?? ''];
      if (!hash) throw new VaultFault(400, 'BadParameter', `Invalid algorithm ${JSON.stringify(body.alg)}.`);
      if (typeof body.value !== 'string') throw new VaultFault(400, 'BadParameter', 'Property "value" is required.');
      if (!key.keyOps.includes(op === 'wrapkey' ? 'wrapKey' : 'unwrapKey')) throw new VaultFault(403, 'Forbidden', `Operation ${op} is not allowed by the key's key_ops.`);
      const input = Buffer.from(body.value, 'base64url');
      const padding = constants.RSA_PKCS1_OAEP_PADDING;
      let output: Buffer;
      if (op === 'wrapkey') {
        output = publicEncrypt({ key: found.publicKey, padding, oaepHash: hash }, input);
      } else {
        try {
          output = privateDecrypt({ key: found.privateKey, padding, oaepHash: hash }, input);
        } catch {
          throw new VaultFault(400, 'BadParameter', 'Unwrap failed: the value is not a ciphertext of this key.');
        }
      }
      return this.#send(res, 200, { kid, value: output.toString('base64url') });
    } catch (err) {
      const fault = err instanceof VaultFault ? err : new VaultFault(500, 'InternalServerError', (err as Error).message);
      this.#send(res, fault.status, { error: { code: fault.code, message: fault.message } }, fault.headers);
    }
  }

  #bundle(key: TestKey, v: KeyVersion, kid: string): unknown {
    const jwk = v.publicKey.export({ format: 'jwk' });
    return {
      key: { kid, kty: 'RSA', key_ops: key.keyOps, n: jwk.n, e: jwk.e },
      attributes: { enabled: key.enabled, created: v.created, updated: v.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
    };
  }

  #send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, 'x-ms-keyvault-service-version': '1.9.0', ...headers }).end(data);
  }
}

/** A TokenCredential that hands out the test token and records what it was asked for. */
export class FakeTokenCredential implements TokenCredential {
  readonly calls: { scopes: string[]; tenantId?: string }[] = [];
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.calls.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
    return { token: TEST_TOKEN, expiresOnTimestamp: Date.now() + 3600_000 };
  }
}
