// VolumeSink that restores into a new EBS snapshot: StartSnapshot, PutSnapshotBlock per assembled 512 KiB block, CompleteSnapshot.
import { createHash, randomUUID } from 'node:crypto';
import { CompleteSnapshotCommand, EBSClient, PutSnapshotBlockCommand, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import { DeleteSnapshotCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CloudkeepError, InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import type { VolumeSink } from '../../core/snapshot/snapshot-source.ts';
import type { IoOptions } from '../../core/store/object-store.ts';
import { Semaphore } from '../../core/util/concurrency.ts';
import { translateEbsError } from './ebs-errors.ts';
import { EbsReadQuota } from './ebs-read-quota.ts';
import { EBS_BLOCK_SIZE } from './ebs-snapshot-source.ts';

const GiB = 1024 ** 3;

export interface EbsSnapshotSinkOptions {
  ebs: EBSClient;
  /** For cleanup() (DeleteSnapshot) of a snapshot a failed restore left behind. */
  ec2?: EC2Client;
  /** Size of the volume to restore in bytes; the snapshot gets it rounded up to whole GiB. */
  volumeSize: number;
  description?: string;
  tags?: Record<string, string>;
  encrypted?: boolean;
  kmsKeyArn?: string;
  /** Makes StartSnapshot idempotent: a retry with the same token gets the same snapshot. Default: a random UUID per sink. */
  clientToken?: string;
  /** Minutes EBS waits for CompleteSnapshot before putting the snapshot in error state (EBS default 60). */
  timeoutMinutes?: number;
  /** PutSnapshotBlock calls in flight. Default 16. */
  parallelism?: number;
  /** Retries throttled and failing calls with back-off; PutSnapshotBlock has its own quota, so not the read quota. */
  retry?: EbsReadQuota;
}

/** A block whose bytes arrive in pieces: sent once every byte is known, or at finish() with gaps as zeros. */
interface Assembly {
  data: Buffer;
  /** Sorted, disjoint [start, end) ranges written so far. */
  ranges: Array<[number, number]>;
}

/**
 * Writes a restore into a new EBS snapshot. If a write or finish() fails, EBS leaves the snapshot
 * pending and then in error state (after the timeout): the caller deletes it, with cleanup().
 */
export class EbsSnapshotSink implements VolumeSink {
  readonly options: EbsSnapshotSinkOptions;
  /** Blocks sent with PutSnapshotBlock. */
  blocksWritten = 0;
  /** Ms spent backing off after throttling. */
  throttledMs = 0;
  readonly #sizeGiB: number;
  readonly #pending = new Map<number, Assembly>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #slots: Semaphore;
  readonly #retry: EbsReadQuota;
  #snapshotId: string | null = null;
  #starting: Promise<string> | null = null;
  #failure: unknown = null;
  #finished = false;

  constructor(options: EbsSnapshotSinkOptions) {
    if (!(Number.isSafeInteger(options.volumeSize) && options.volumeSize > 0)) throw new InvalidArgumentError(`volumeSize ${options.volumeSize}: expected a positive number of bytes`);
    this.options = { ...options, clientToken: options.clientToken ?? randomUUID() };
    this.#sizeGiB = Math.ceil(options.volumeSize / GiB);
    this.#slots = new Semaphore(options.parallelism ?? 16);
    this.#retry = options.retry ?? new EbsReadQuota();
  }

  /** The new snapshot's id once started, else null. */
  get snapshotId(): string | null {
    return this.#snapshotId;
  }

  /** StartSnapshot (done by the first write when not called). */
  start(options: IoOptions = {}): Promise<string> {
    this.#starting ??= this.#call('StartSnapshot', async () => {
      const o = this.options;
      const res = await o.ebs.send(new StartSnapshotCommand({
        VolumeSize: this.#sizeGiB,
        Description: o.description,
        Tags: o.tags ? Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value })) : undefined,
        ClientToken: o.clientToken,
        Encrypted: o.encrypted || o.kmsKeyArn ? true : undefined,
        KmsKeyArn: o.kmsKeyArn,
        Timeout: o.timeoutMinutes,
      }), { abortSignal: options.signal });
      if (!res.SnapshotId) throw new CloudkeepError('StartSnapshot: EBS answered without a snapshot id');
      if (res.BlockSize !== undefined && res.BlockSize !== EBS_BLOCK_SIZE) throw new CloudkeepError(`StartSnapshot ${res.SnapshotId}: block size ${res.BlockSize}, expected ${EBS_BLOCK_SIZE}`);
      this.#snapshotId = res.SnapshotId;
      return res.SnapshotId;
    }, options.signal);
    // A failed start may be tried again: the same ClientToken yields the same snapshot.
    this.#starting.catch(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  async write(offset: number, data: Uint8Array, options: IoOptions = {}): Promise<void> {
    this.#check(options.signal);
    if (offset < 0 || offset + data.length > this.#sizeGiB * GiB) throw new InvalidArgumentError(`write at ${offset}+${data.length} lies outside the ${this.#sizeGiB} GiB snapshot`);
    await this.start(options);
    const sends: Promise<void>[] = [];
    for (let at = offset; at < offset + data.length;) {
      const block = Math.floor(at / EBS_BLOCK_SIZE);
      const inBlock = at - block * EBS_BLOCK_SIZE;
      const n = Math.min(EBS_BLOCK_SIZE - inBlock, offset + data.length - at);
      const piece = data.subarray(at - offset, at - offset + n);
      if (inBlock === 0 && n === EBS_BLOCK_SIZE && !this.#pending.has(block)) sends.push(this.#send(block, Buffer.from(piece), options.signal));
      else {
        let a = this.#pending.get(block);
        if (!a) this.#pending.set(block, (a = { data: Buffer.alloc(EBS_BLOCK_SIZE), ranges: [] }));
        a.data.set(piece, inBlock);
        addRange(a.ranges, inBlock, inBlock + n);
        if (a.ranges.length === 1 && a.ranges[0][0] === 0 && a.ranges[0][1] === EBS_BLOCK_SIZE) {
          this.#pending.delete(block);
          sends.push(this.#send(block, a.data, options.signal));
        }
      }
      at += n;
    }
    await Promise.all(sends);
  }

  /** Sends the partly written blocks (gaps as zeros), waits for every PutSnapshotBlock, then CompleteSnapshot. */
  async finish(size: number, options: IoOptions = {}): Promise<void> {
    this.#check(options.signal);
    if (size > this.#sizeGiB * GiB) throw new InvalidArgumentError(`finish(${size}): larger than the ${this.#sizeGiB} GiB snapshot`);
    const id = await this.start(options);
    const partial = [...this.#pending.entries()];
    this.#pending.clear();
    await Promise.all([...partial.map(([block, a]) => this.#send(block, a.data, options.signal)), ...this.#inflight]);
    this.#check(options.signal);
    await this.#call(`CompleteSnapshot ${id}`, () => this.options.ebs.send(new CompleteSnapshotCommand({ SnapshotId: id, ChangedBlocksCount: this.blocksWritten }), { abortSignal: options.signal }), options.signal);
    this.#finished = true;
  }

  /** Stops the restore: later writes fail. The started snapshot goes to error state; delete it with cleanup(). */
  abort(reason: unknown = new CloudkeepError('restore into EBS snapshot aborted')): void {
    this.#failure ??= reason;
  }

  /** Deletes the snapshot this sink started (EC2 DeleteSnapshot), e.g. after a failed or aborted restore. */
  async cleanup(options: IoOptions = {}): Promise<void> {
    this.abort();
    const id = this.#snapshotId ?? (this.#starting ? await this.#starting.catch(() => null) : null);
    if (!id) return;
    await Promise.allSettled([...this.#inflight]);
    const ec2 = this.options.ec2;
    if (!ec2) throw new InvalidArgumentError(`cannot delete snapshot ${id}: the sink has no EC2Client`);
    await this.#call(`DeleteSnapshot ${id}`, () => ec2.send(new DeleteSnapshotCommand({ SnapshotId: id }), { abortSignal: options.signal }), options.signal);
    this.#snapshotId = null;
  }

  #check(signal: AbortSignal | undefined): void {
    throwIfAborted(signal);
    if (this.#failure) throw this.#failure instanceof CloudkeepError ? this.#failure : new CloudkeepError('restore into EBS snapshot failed earlier', { cause: this.#failure });
    if (this.#finished) throw new CloudkeepError(`snapshot ${this.#snapshotId} is already completed`);
  }

  /** PutSnapshotBlock with its SHA256 unless the block is all zeros (a new snapshot reads zeros where nothing was put). */
  #send(block: number, data: Buffer, signal: AbortSignal | undefined): Promise<void> {
    if (isZero(data)) return Promise.resolve();
    const p = this.#slots.run(async () => {
      this.#check(signal);
      const id = this.#snapshotId!;
      const checksum = createHash('sha256').update(data).digest('base64');
      await this.#call(`PutSnapshotBlock ${id} block ${block}`, () => this.options.ebs.send(new PutSnapshotBlockCommand({
        SnapshotId: id, BlockIndex: block, BlockData: data, DataLength: data.length, Checksum: checksum, ChecksumAlgorithm: 'SHA256',
      }), { abortSignal: signal }), signal);
      this.blocksWritten++;
    }).catch((err: unknown) => {
      this.#failure ??= err;
      throw err;
    });
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p)).catch(() => {});
    return p;
  }

  #call<T>(what: string, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return this.#retry.retry(() => fn().catch((e: unknown) => {
      throw translateEbsError(e, what, signal);
    }), signal, this);
  }
}

function addRange(ranges: Array<[number, number]>, start: number, end: number): void {
  ranges.push([start, end]);
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  ranges.splice(0, ranges.length, ...merged);
}

function isZero(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}
