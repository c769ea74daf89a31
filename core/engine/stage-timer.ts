// Busy time per pipeline stage, the way the seeds' bottleneck statistics name the slowest stage.
import type { Clock } from '../clock.ts';
import type { StageStats } from '../repo/manifest.ts';

/** Time during which at least one operation of the stage was in flight. */
export class BusyTimer {
  #active = 0;
  #since = 0;
  #total = 0;
  readonly #clock: Clock;
  constructor(clock: Clock) {
    this.#clock = clock;
  }
  async time<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active++ === 0) this.#since = this.#clock.now();
    try {
      return await fn();
    } finally {
      if (--this.#active === 0) this.#total += this.#clock.now() - this.#since;
    }
  }
  /**
   * Runs fn as a pause inside a time() call: while it runs this call does not keep the stage busy
   * (e.g. a write held back by a rate limit is throttling, not target write). Outside time(), just runs fn.
   */
  async idle<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active === 0) return fn();
    if (--this.#active === 0) this.#total += this.#clock.now() - this.#since;
    try {
      return await fn();
    } finally {
      if (this.#active++ === 0) this.#since = this.#clock.now();
    }
  }
  /** Adds busy time measured elsewhere. */
  add(ms: number): void {
    this.#total += ms;
  }
  get totalMs(): number {
    return this.#total + (this.#active > 0 ? this.#clock.now() - this.#since : 0);
  }
}

/** Compute time of a processor's lanes (worker threads) since the stage began, as one stage. */
export class LaneTimer {
  readonly #processor: { readonly busyMs: number; readonly lanes: number };
  readonly #start: number;
  constructor(processor: { readonly busyMs: number; readonly lanes: number }) {
    this.#processor = processor;
    this.#start = processor.busyMs;
  }
  async time<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }
  get totalMs(): number {
    return (this.#processor.busyMs - this.#start) / this.#processor.lanes;
  }
}

export interface PipelineTimers {
  sourceRead: BusyTimer;
  processing: LaneTimer;
  targetWrite: BusyTimer;
  throttling: BusyTimer;
}

export function newTimers(clock: Clock, processor: { readonly busyMs: number; readonly lanes: number }): PipelineTimers {
  return { sourceRead: new BusyTimer(clock), processing: new LaneTimer(processor), targetWrite: new BusyTimer(clock), throttling: new BusyTimer(clock) };
}

export function stageStats(t: PipelineTimers): StageStats {
  const r = (n: number) => Math.round(n);
  return { sourceRead: r(t.sourceRead.totalMs), processing: r(t.processing.totalMs), targetWrite: r(t.targetWrite.totalMs), throttling: r(t.throttling.totalMs) };
}

const STAGE_NAMES: Record<keyof StageStats, string> = {
  sourceRead: 'source read',
  processing: 'processing',
  targetWrite: 'target write',
  throttling: 'throttling',
};

/** The stage that was busy the largest share of the wall time. */
export function bottleneck(stages: StageStats): string {
  let best: keyof StageStats = 'processing';
  for (const k of Object.keys(stages) as Array<keyof StageStats>) if (stages[k] > stages[best]) best = k;
  return STAGE_NAMES[best];
}

/** "processing 92%, source read 40%, ..." of the wall time. */
export function describeStages(stages: StageStats, wallMs: number): string {
  const pct = (ms: number) => `${wallMs > 0 ? Math.round((100 * ms) / wallMs) : 0}%`;
  return (Object.keys(STAGE_NAMES) as Array<keyof StageStats>).map((k) => `${STAGE_NAMES[k]} ${pct(stages[k])}`).join(', ');
}
