// SnapshotSource over the EBS direct APIs: block lists with tokens, changed blocks within a lineage, verified block reads.
import { createHash } from 'node:crypto';
import type { EBSClientConfig } from '@aws-sdk/client-ebs';
import { EBSClient, GetSnapshotBlockCommand, ListChangedBlocksCommand, ListSnapshotBlocksCommand } from '@aws-sdk/client-ebs';
import { DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CloudkeepError, InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import type { BlockList, SnapshotInfo, SnapshotRef, SnapshotSource } from '../../core/snapshot/snapshot-source.ts';
import type { IoOptions } from '../../core/store/object-store.ts';
import { isBadBlockToken, isNoLineage, translateEbsError, EbsError } from './ebs-errors.ts';
import { EbsReadQuota } from './ebs-read-quota.ts';

/** EBS direct APIs always use 512 KiB blocks. */
export const EBS_BLOCK_SIZE = 512 * 1024;
const GiB = 1024 ** 3;
const PAGE = 10_000;

export interface EbsClientOptions {
  region: string;
  endpoint?: string;
  credentials?: EBSClientConfig['credentials'];
}

export interface EbsSnapshotSourceOptions extends Partial<EbsClientOptions> {
  /**
   * An injected client. Build it with maxAttempts: 1 so throttling reaches the quota (which backs
   * off and counts the time) instead of the SDK's own retries hiding it.
   */
  ebs?: EBSClient;
  ec2?: EC2Client;
  /** The process-wide GetSnapshotBlock limiter; one per process, shared by every source. */
  quota?: EbsReadQuota;
}

/** Per snapshot: block index -> block token, or null for a block that reads as zeros. */
interface TokenMap {
  tokens: Map<number, string | null>;
  /** The whole snapshot was listed: blocks not in the map are not allocated. */
  complete: boolean;
}

export class EbsSnapshotSource implements SnapshotSource {
  readonly ebs: EBSClient;
  readonly ec2: EC2Client;
  readonly quota: EbsReadQuota;
  /** Ms this source's reads waited for quota or backed off after throttling. */
  throttledMs = 0;
  /** GetSnapshotBlock requests sent (retries included). */
  blockRequests = 0;
  readonly #maps = new Map<string, TokenMap>();

  constructor(options: EbsSnapshotSourceOptions) {
    if (!options.ebs && !options.region) throw new InvalidArgumentError('EbsSnapshotSource needs an EBSClient or a region');
    const cfg = { region: options.region, endpoint: options.endpoint, credentials: options.credentials };
    this.ebs = options.ebs ?? new EBSClient({ ...cfg, maxAttempts: 1 });
    this.ec2 = options.ec2 ?? new EC2Client(options.ebs ? { region: options.region } : cfg);
    this.quota = options.quota ?? new EbsReadQuota();
  }

  async describe(snapshot: SnapshotRef, options: IoOptions = {}): Promise<SnapshotInfo> {
    const id = snapshot.snapshotId;
    const what = `DescribeSnapshots ${id}`;
    const res = await this.quota.retry(() => this.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }), { abortSignal: options.signal }).catch((e: unknown) => {
      throw translateEbsError(e, what, options.signal);
    }), options.signal, this);
    const snap = res.Snapshots?.find((s) => s.SnapshotId === id);
    if (!snap || snap.VolumeSize === undefined) throw new CloudkeepError(`${what}: EC2 does not know snapshot ${id}`);
    if (snap.State && snap.State !== 'completed') throw new CloudkeepError(`snapshot ${id} is ${snap.State}: EBS direct APIs read only completed snapshots`, { retryable: snap.State === 'pending' });
    return {
      snapshotId: id,
      volumeId: snap.VolumeId && snap.VolumeId !== 'vol-ffffffff' ? snap.VolumeId : snapshot.volumeId,
      size: snap.VolumeSize * GiB,
      blockSize: EBS_BLOCK_SIZE,
      createdAt: snap.StartTime ? snap.StartTime.getTime() : 0,
    };
  }

  async listAllocatedBlocks(snapshot: SnapshotRef, options: IoOptions = {}): Promise<BlockList> {
    const map: TokenMap = { tokens: new Map(), complete: false };
    await this.#listRange(snapshot.snapshotId, 0, Infinity, map, options.signal);
    map.complete = true;
    this.#maps.set(snapshot.snapshotId, map);
    return { blockSize: EBS_BLOCK_SIZE, blocks: [...map.tokens.keys()].sort((a, b) => a - b) };
  }

  async listChangedBlocks(base: SnapshotRef, snapshot: SnapshotRef, options: IoOptions = {}): Promise<BlockList | null> {
    const first = base.snapshotId;
    const second = snapshot.snapshotId;
    const map = this.#maps.get(second) ?? { tokens: new Map<number, string | null>(), complete: false };
    const changed = new Set<number>();
    let next: string | undefined;
    try {
      do {
        const what = `ListChangedBlocks ${first} -> ${second}`;
        const res = await this.quota.retry(() => this.ebs.send(new ListChangedBlocksCommand({ FirstSnapshotId: first, SecondSnapshotId: second, MaxResults: PAGE, NextToken: next }), { abortSignal: options.signal }).catch((e: unknown) => {
          throw translateEbsError(e, what, options.signal);
        }), options.signal, this);
        for (const b of res.ChangedBlocks ?? []) {
          if (b.BlockIndex === undefined) continue;
          changed.add(b.BlockIndex);
          // Only in the base: the block was removed and reads as zeros in the new snapshot.
          map.tokens.set(b.BlockIndex, b.SecondBlockToken ?? null);
        }
        next = res.NextToken || undefined;
      } while (next);
    } catch (err) {
      if (isNoLineage(err)) return null;
      throw err;
    }
    this.#maps.set(second, map);
    return { blockSize: EBS_BLOCK_SIZE, blocks: [...changed].sort((a, b) => a - b) };
  }

  async readBlocks(snapshot: SnapshotRef, block: number, count: number, target: Uint8Array, options: IoOptions = {}): Promise<void> {
    const id = snapshot.snapshotId;
    if (target.length < count * EBS_BLOCK_SIZE) throw new InvalidArgumentError(`readBlocks ${id}: target holds ${target.length} bytes, ${count} blocks need ${count * EBS_BLOCK_SIZE}`);
    throwIfAborted(options.signal);
    const map = this.#maps.get(id) ?? this.#newMap(id);
    const relist = (): Promise<void> => this.#relist(id, block, block + count - 1, map, options.signal);
    const missing = Array.from({ length: count }, (_, i) => block + i).some((b) => !map.complete && !map.tokens.has(b));
    if (missing) await relist();
    let fresh: Promise<void> | null = null;
    await Promise.all(Array.from({ length: count }, async (_, i) => {
      const view = target.subarray(i * EBS_BLOCK_SIZE, (i + 1) * EBS_BLOCK_SIZE);
      const index = block + i;
      let token = map.tokens.get(index) ?? null;
      if (token === null) return void view.fill(0);
      let data: Uint8Array;
      try {
        data = await this.#getVerified(id, index, token, options.signal);
      } catch (err) {
        if (!isBadBlockToken(err)) throw err;
        await (fresh ??= relist());
        token = map.tokens.get(index) ?? null;
        if (token === null) return void view.fill(0);
        data = await this.#getVerified(id, index, token, options.signal);
      }
      view.set(data);
    }));
  }

  /** Drops the block tokens kept for a snapshot (they take memory until then). */
  forget(snapshot: SnapshotRef): void {
    this.#maps.delete(snapshot.snapshotId);
  }

  #newMap(id: string): TokenMap {
    const map: TokenMap = { tokens: new Map(), complete: false };
    this.#maps.set(id, map);
    return map;
  }

  /** Fresh tokens for blocks from..to (after expiry, or for a snapshot never listed); unlisted blocks there read as zeros. */
  async #relist(id: string, from: number, to: number, map: TokenMap, signal?: AbortSignal): Promise<void> {
    for (let b = from; b <= to; b++) map.tokens.delete(b);
    await this.#listRange(id, from, to, map, signal);
    for (let b = from; b <= to; b++) if (!map.tokens.has(b)) map.tokens.set(b, null);
  }

  /** ListSnapshotBlocks from block `from` until past `to`; a page token that expired (60 min) restarts after the last block seen. */
  async #listRange(id: string, from: number, to: number, map: TokenMap, signal?: AbortSignal): Promise<void> {
    let next: string | undefined;
    let start = from;
    const what = `ListSnapshotBlocks ${id}`;
    for (;;) {
      let res;
      try {
        const req = next ? { SnapshotId: id, MaxResults: PAGE, NextToken: next } : { SnapshotId: id, MaxResults: PAGE, StartingBlockIndex: start };
        res = await this.quota.retry(() => this.ebs.send(new ListSnapshotBlocksCommand(req), { abortSignal: signal }).catch((e: unknown) => {
          throw translateEbsError(e, what, signal);
        }), signal, this);
      } catch (err) {
        if (next && err instanceof EbsError && err.reason === 'INVALID_PAGE_TOKEN') {
          next = undefined;
          continue;
        }
        throw err;
      }
      if (res.BlockSize !== undefined && res.BlockSize !== EBS_BLOCK_SIZE) throw new CloudkeepError(`${what}: block size ${res.BlockSize}, expected ${EBS_BLOCK_SIZE}`);
      let last = start - 1;
      for (const b of res.Blocks ?? []) {
        if (b.BlockIndex === undefined || !b.BlockToken) continue;
        last = Math.max(last, b.BlockIndex);
        if (b.BlockIndex >= from && b.BlockIndex <= to) map.tokens.set(b.BlockIndex, b.BlockToken);
      }
      start = last + 1;
      next = res.NextToken || undefined;
      if (!next || last >= to) return;
      throwIfAborted(signal);
    }
  }

  /** One GetSnapshotBlock under the quota, checked against its DataLength and SHA256 checksum; a mismatch is fetched once more. */
  async #getVerified(id: string, index: number, token: string, signal?: AbortSignal): Promise<Uint8Array> {
    let problem = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      const what = `GetSnapshotBlock ${id} block ${index}`;
      const { data, length, checksum, algorithm } = await this.quota.run(id, async () => {
        this.blockRequests++;
        try {
          const res = await this.ebs.send(new GetSnapshotBlockCommand({ SnapshotId: id, BlockIndex: index, BlockToken: token }), { abortSignal: signal });
          const bytes = res.BlockData ? await res.BlockData.transformToByteArray() : new Uint8Array(0);
          return { data: bytes, length: res.DataLength, checksum: res.Checksum, algorithm: res.ChecksumAlgorithm };
        } catch (e) {
          throw translateEbsError(e, what, signal);
        }
      }, signal, this);
      if (algorithm !== 'SHA256') problem = `checksum algorithm ${String(algorithm)}, expected SHA256`;
      else if (length !== data.length || data.length !== EBS_BLOCK_SIZE) problem = `${data.length} bytes with DataLength ${String(length)}, expected ${EBS_BLOCK_SIZE}`;
      else if (createHash('sha256').update(data).digest('base64') !== checksum) problem = 'SHA256 checksum mismatch';
      else return data;
    }
    throw new CloudkeepError(`snapshot ${id} block ${index}: ${problem} after a second read; the data EBS returned is not what it stored`);
  }
}
