// A small HTTP server speaking the AWS KMS JSON 1.1 wire protocol (Encrypt, Decrypt, DescribeKey) for tests.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';

export const TEST_ACCOUNT = '111122223333';
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDCLOUDKEEPTEST', secretAccessKey: 'cloudkeep-test-secret' };
const BLOB_MAGIC = Buffer.from('CKT1');

interface TestKey {
  id: string;
  arn: string;
  material: Buffer;
  enabled: boolean;
  created: number;
}

class KmsFault extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

export interface KmsRequestRecord {
  target: string;
  keyId?: string;
  encryptionContext?: Record<string, string>;
}

/** One region of one account: per-key random AES-256 keys; ciphertext blobs embed the key id. */
export class KmsTestServer {
  readonly region: string;
  /** Answer the next N requests with ThrottlingException (HTTP 400), as KMS does when rate-limited. */
  throttleNext = 0;
  /** Answer the next N requests with KMSInternalException (HTTP 500). */
  internalErrorNext = 0;
  /** Answer every request with AccessDeniedException, as for a caller the key policy does not allow. */
  denyAccess = false;
  /** Deny only these actions ("Encrypt", "Decrypt", "DescribeKey"), as a narrower policy would. */
  readonly deniedActions = new Set<string>();
  /** Operation, key id and context of every request (never the plaintext). */
  readonly requests: KmsRequestRecord[] = [];
  readonly #keys = new Map<string, TestKey>();
  readonly #aliases = new Map<string, string>();
  readonly #server: Server;
  #endpoint = '';

  private constructor(region: string) {
    this.region = region;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(region = 'eu-west-1'): Promise<KmsTestServer> {
    const server = new KmsTestServer(region);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.#endpoint = `http://127.0.0.1:${(server.#server.address() as AddressInfo).port}`;
    return server;
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  /** A real SDK client pointed at this server, with static fake credentials. */
  client(options: { maxAttempts?: number } = {}): KMSClient {
    return new KMSClient({ endpoint: this.#endpoint, region: this.region, credentials: TEST_CREDENTIALS, maxAttempts: options.maxAttempts });
  }

  /** Creates a symmetric key, optionally with an alias ("alias/name"). */
  createKey(alias?: string): { keyId: string; arn: string } {
    const id = randomUUID();
    const arn = `arn:aws:kms:${this.region}:${TEST_ACCOUNT}:key/${id}`;
    this.#keys.set(id, { id, arn, material: randomBytes(32), enabled: true, created: Math.floor(Date.now() / 1000) });
    if (alias) this.#aliases.set(alias, id);
    return { keyId: id, arn };
  }

  setEnabled(keyIdOrArn: string, enabled: boolean): void {
    this.#resolve(keyIdOrArn).enabled = enabled;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || req.url !== '/') throw new KmsFault('UnknownOperationException', `${req.method} ${req.url} is not a KMS operation`, 404);
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) throw new KmsFault('SerializationException', 'expected Content-Type application/x-amz-json-1.1');
      const auth = String(req.headers.authorization ?? '');
      if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/`) || !auth.includes(`/${this.region}/kms/aws4_request`)) {
        throw new KmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
      this.requests.push({ target: op, keyId: body.KeyId as string | undefined, encryptionContext: body.EncryptionContext as Record<string, string> | undefined });
      if (this.throttleNext > 0) {
        this.throttleNext--;
        throw new KmsFault('ThrottlingException', 'Rate exceeded');
      }
      if (this.internalErrorNext > 0) {
        this.internalErrorNext--;
        throw new KmsFault('KMSInternalException', 'An internal error occurred.', 500);
      }
      const result = this.#dispatch(op, body);
      this.#send(res, 200, result);
    } catch (err) {
      const fault = err instanceof KmsFault ? err : new KmsFault('SerializationException', (err as Error).message);
      this.#send(res, fault.status, { __type: fault.type, message: fault.message }, fault.type);
    }
  }

  #dispatch(op: string, body: Record<string, unknown>): unknown {
    switch (op) {
      case 'Encrypt':
        return this.#encrypt(body);
      case 'Decrypt':
        return this.#decrypt(body);
      case 'DescribeKey':
        return this.#describe(body);
      default:
        throw new KmsFault('UnknownOperationException', `unsupported operation ${op}`);
    }
  }

  #deny(action: string, resource: string): void {
    if (!this.denyAccess && !this.deniedActions.has(action)) return;
    throw new KmsFault(
      'AccessDeniedException',
      `User: arn:aws:iam::${TEST_ACCOUNT}:user/cloudkeep-test is not authorized to perform: kms:${action} on resource: ${resource} because no resource-based policy allows the kms:${action} action`,
    );
  }

  #usable(key: TestKey): TestKey {
    if (!key.enabled) throw new KmsFault('DisabledException', `${key.arn} is disabled.`);
    return key;
  }

  #encrypt(body: Record<string, unknown>): unknown {
    const keyId = requireString(body.KeyId, 'KeyId');
    this.#deny('Encrypt', this.#arnFor(keyId));
    const key = this.#usable(this.#resolve(keyId));
    const plaintext = Buffer.from(requireString(body.Plaintext, 'Plaintext'), 'base64');
    if (plaintext.length < 1 || plaintext.length > 4096) throw new KmsFault('ValidationException', 'Plaintext must be 1 to 4096 bytes');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(contextAad(body.EncryptionContext));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const id = Buffer.from(key.id, 'utf8');
    const blob = Buffer.concat([BLOB_MAGIC, Buffer.from([id.length]), id, iv, cipher.getAuthTag(), ct]);
    return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  #decrypt(body: Record<string, unknown>): unknown {
    const blob = Buffer.from(requireString(body.CiphertextBlob, 'CiphertextBlob'), 'base64');
    const invalid = new KmsFault('InvalidCiphertextException', '');
    if (blob.length < 5 || !blob.subarray(0, 4).equals(BLOB_MAGIC)) throw invalid;
    const idLen = blob[4];
    const blobKeyId = blob.subarray(5, 5 + idLen).toString('utf8');
    const blobKey = this.#keys.get(blobKeyId);
    this.#deny('Decrypt', blobKey?.arn ?? `arn:aws:kms:${this.region}:${TEST_ACCOUNT}:key/${blobKeyId}`);
    if (typeof body.KeyId === 'string' && this.#resolve(body.KeyId).id !== blobKeyId) {
      throw new KmsFault('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
    if (!blobKey) throw invalid;
    this.#usable(blobKey);
    const rest = blob.subarray(5 + idLen);
    if (rest.length < 28) throw invalid;
    try {
      const decipher = createDecipheriv('aes-256-gcm', blobKey.material, rest.subarray(0, 12));
      decipher.setAAD(contextAad(body.EncryptionContext));
      decipher.setAuthTag(rest.subarray(12, 28));
      const plaintext = Buffer.concat([decipher.update(rest.subarray(28)), decipher.final()]);
      return { KeyId: blobKey.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      throw invalid;
    }
  }

  #describe(body: Record<string, unknown>): unknown {
    const keyId = requireString(body.KeyId, 'KeyId');
    this.#deny('DescribeKey', this.#arnFor(keyId));
    const key = this.#resolve(keyId);
    return {
      KeyMetadata: {
        AWSAccountId: TEST_ACCOUNT,
        KeyId: key.id,
        Arn: key.arn,
        CreationDate: key.created,
        Enabled: key.enabled,
        KeyState: key.enabled ? 'Enabled' : 'Disabled',
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyManager: 'CUSTOMER',
        Origin: 'AWS_KMS',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false,
      },
    };
  }

  /** Key id, key ARN, alias name or alias ARN -> the key, or NotFoundException as KMS words it. */
  #resolve(keyId: string): TestKey {
    const arn = /^arn:aws:kms:([^:]+):(\d{12}):(key|alias)\/(.+)$/.exec(keyId);
    if (arn && (arn[1] !== this.region || arn[2] !== TEST_ACCOUNT)) throw new KmsFault('NotFoundException', `Key '${keyId}' does not exist`);
    const kind = arn ? arn[3] : keyId.startsWith('alias/') ? 'alias' : 'key';
    const name = arn ? arn[4] : kind === 'alias' ? keyId.slice('alias/'.length) : keyId;
    const id = kind === 'alias' ? this.#aliases.get(`alias/${name}`) : name;
    const key = id === undefined ? undefined : this.#keys.get(id);
    if (!key) {
      throw new KmsFault('NotFoundException', kind === 'alias' ? `Alias arn:aws:kms:${this.region}:${TEST_ACCOUNT}:alias/${name} is not found.` : `Key '${this.#arnFor(keyId)}' does not exist`);
    }
    return key;
  }

  #arnFor(keyId: string): string {
    if (keyId.startsWith('arn:')) return keyId;
    return `arn:aws:kms:${this.region}:${TEST_ACCOUNT}:${keyId.startsWith('alias/') ? keyId : `key/${keyId}`}`;
  }

  #send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
    const data = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': data.length,
      'x-amzn-requestid': randomUUID(),
    };
    if (errorType) headers['x-amzn-errortype'] = `${errorType}:http://internal.amazon.com/coral/com.amazonaws.kms/`;
    res.writeHead(status, headers).end(data);
  }
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new KmsFault('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
  return value;
}

/** The encryption context binds as AAD: same pairs in any order give the same bytes. */
function contextAad(context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}
