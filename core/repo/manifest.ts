// Restore point manifests: one per protected resource per run, written last so a point is all there or absent.
import { z } from 'zod';
import { CorruptObjectError } from '../errors.ts';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);

export const StageStatsSchema = z.strictObject({
  /** Busy time in ms of each stage; a stage is busy while it has work in flight. */
  sourceRead: z.number(),
  processing: z.number(),
  targetWrite: z.number(),
  throttling: z.number(),
});
export type StageStats = z.infer<typeof StageStatsSchema>;

export const BackupStatsSchema = z.strictObject({
  bytesTotal: z.number(),
  bytesRead: z.number(),
  bytesZero: z.number(),
  bytesNew: z.number(),
  bytesStored: z.number(),
  chunksNew: z.number(),
  chunksReused: z.number(),
  blocksRead: z.number(),
  packsWritten: z.number(),
  objectsWritten: z.number(),
  durationMs: z.number(),
  stages: StageStatsSchema,
  bottleneck: z.string(),
});
export type BackupStats = z.infer<typeof BackupStatsSchema>;

export const DiskSchema = z.strictObject({
  name: z.string(),
  volumeId: z.string(),
  snapshotId: z.string(),
  size: z.number().int().nonnegative(),
  blockSize: z.number().int().positive(),
  segmentBlocks: z.number().int().positive(),
  /** Tree chunk ids of the block map, segment i covering blocks [i*segmentBlocks, ...). null: all zero. */
  segments: z.array(hex32.nullable()),
});
export type DiskManifest = z.infer<typeof DiskSchema>;

export const StreamSchema = z.strictObject({
  /** e.g. "dump.sql" or "orders.bacpac". */
  name: z.string().min(1),
  size: z.number().int().nonnegative(),
  /** Tree chunk ids of the stream map, in order. */
  segments: z.array(hex32),
});
export type StreamManifest = z.infer<typeof StreamSchema>;

export const ResourceSchema = z.strictObject({
  id: z.string().min(1),
  kind: z.enum(['volume', 'instance', 'vm', 'database']),
  name: z.string().optional(),
  provider: z.string(),
  account: z.string().optional(),
  region: z.string().optional(),
});
export type ResourceRef = z.infer<typeof ResourceSchema>;

export const ManifestSchema = z.strictObject({
  version: z.literal(1),
  id: z.string(),
  resource: ResourceSchema,
  kind: z.enum(['full', 'incremental']),
  parent: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  tags: z.record(z.string(), z.string()),
  disks: z.array(DiskSchema),
  /** Byte streams such as database exports; absent when there are none. */
  streams: z.array(StreamSchema).optional(),
  stats: BackupStatsSchema,
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** A chain's identity: one resource of one account; retention and placement work per chain. */
export function chainGroup(resource: ResourceRef): string {
  return [resource.provider, resource.account ?? '', resource.region ?? '', resource.id].join('/');
}

export function encodeManifest(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify(ManifestSchema.parse(m)));
}

export function decodeManifest(buf: Buffer, objectKey: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new CorruptObjectError(objectKey, 'manifest is not valid JSON', { cause: err });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw new CorruptObjectError(objectKey, `invalid manifest: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
