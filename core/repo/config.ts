// The repository config object: format version, algorithms and parameters, authenticated by the master key.
import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import type { MasterKey } from '../crypto/master-key.ts';
import { CorruptObjectError, InvalidArgumentError, UnsupportedFormatError } from '../errors.ts';
import { CONFIG_KEY } from './layout.ts';

export const FORMAT_NAME = 'cloudkeep-repository';
/** Versions this code reads. A reader refuses any other version rather than guess. */
export const FORMAT_VERSION = 1;
const MAC_INFO = 'cloudkeep/v1/config-mac';

export const ChunkingParamsSchema = z.strictObject({
  /** Source-aligned block size; the unit of changed-block tracking. */
  blockSize: z.number().int().min(4096).max(16 * 1024 * 1024),
  /** Content-defined cuts inside a block fall on page boundaries. */
  pageSize: z.number().int().min(512).max(65536),
  /** Average sub-chunk size; equal to blockSize turns sub-chunking off. */
  subChunkAverage: z.number().int().min(4096),
  subChunkMin: z.number().int().min(512),
});
export type ChunkingParams = z.infer<typeof ChunkingParamsSchema>;

export const RepoParamsSchema = z.strictObject({
  chunking: ChunkingParamsSchema,
  compression: z.strictObject({ algorithm: z.literal('zstd'), level: z.number().int().min(-7).max(22) }),
  encryption: z.literal('AES-256-GCM'),
  chunkId: z.literal('BLAKE3-keyed-256'),
  packTargetSize: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024),
});
export type RepoParams = z.infer<typeof RepoParamsSchema>;

const ConfigSchema = z.strictObject({
  format: z.literal(FORMAT_NAME),
  version: z.number().int(),
  id: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: z.string(),
  params: RepoParamsSchema,
  mac: z.string(),
});
export type RepoConfig = z.infer<typeof ConfigSchema>;

export const DEFAULT_PARAMS: RepoParams = {
  chunking: { blockSize: 512 * 1024, pageSize: 4096, subChunkAverage: 64 * 1024, subChunkMin: 16 * 1024 },
  compression: { algorithm: 'zstd', level: 1 },
  encryption: 'AES-256-GCM',
  chunkId: 'BLAKE3-keyed-256',
  packTargetSize: 32 * 1024 * 1024,
};

export function validateParams(params: RepoParams): RepoParams {
  const parsed = RepoParamsSchema.safeParse(params);
  if (!parsed.success) throw new InvalidArgumentError(`invalid repository parameters: ${z.prettifyError(parsed.error)}`);
  const c = parsed.data.chunking;
  if ((c.pageSize & (c.pageSize - 1)) !== 0 || c.pageSize < 64) {
    throw new InvalidArgumentError(`page size ${c.pageSize}: expected a power of two from 512 to 65536`);
  }
  if (c.blockSize % c.pageSize !== 0) {
    throw new InvalidArgumentError(`block size ${c.blockSize} must be a multiple of the page size ${c.pageSize}`);
  }
  if (c.subChunkAverage > c.blockSize || c.subChunkMin > c.subChunkAverage || c.subChunkMin % c.pageSize !== 0) {
    throw new InvalidArgumentError(
      `sub-chunk sizes (min ${c.subChunkMin}, average ${c.subChunkAverage}) must be page multiples with min <= average <= block size ${c.blockSize}`,
    );
  }
  return parsed.data;
}

function macBody(config: Omit<RepoConfig, 'mac'>): Buffer {
  return Buffer.from(JSON.stringify([config.format, config.version, config.id, config.createdAt, config.params]));
}

export function createConfig(master: MasterKey, params: RepoParams, nowMs: number): RepoConfig {
  const body = { format: FORMAT_NAME, version: FORMAT_VERSION, id: randomBytes(16).toString('hex'), createdAt: new Date(nowMs).toISOString(), params: validateParams(params) } as const;
  return { ...body, mac: master.mac(MAC_INFO, macBody(body)).toString('base64') };
}

/** Parses the config without the key: enough to know the format and version before unlocking. */
export function parseConfig(data: Uint8Array): RepoConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    throw new CorruptObjectError(CONFIG_KEY, 'not valid JSON (truncated or damaged)', { cause: err });
  }
  const head = z.object({ format: z.string(), version: z.number() }).safeParse(json);
  if (!head.success || head.data.format !== FORMAT_NAME) {
    throw new CorruptObjectError(CONFIG_KEY, `not a Cloudkeep repository config (expected format "${FORMAT_NAME}")`);
  }
  if (head.data.version !== FORMAT_VERSION) {
    throw new UnsupportedFormatError(
      `repository format version ${head.data.version} is not supported: this Cloudkeep reads version ${FORMAT_VERSION}; upgrade Cloudkeep`,
    );
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) throw new CorruptObjectError(CONFIG_KEY, `invalid config: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Checks the config's MAC with the unlocked master key: detects any edit of the parameters. */
export function authenticateConfig(master: MasterKey, config: RepoConfig): void {
  const { mac, ...body } = config;
  if (!master.verifyMac(MAC_INFO, macBody(body), Buffer.from(mac, 'base64'))) {
    throw new CorruptObjectError(CONFIG_KEY, 'authentication failed: the config was modified');
  }
}

export function serializeConfig(config: RepoConfig): Buffer {
  return Buffer.from(JSON.stringify(config, null, 2) + '\n');
}
