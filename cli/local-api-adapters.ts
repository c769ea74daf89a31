// The API's ports (functions/api/ports.ts) on the local plane: inventory from local discovery, run now
// through the state machine, Cloudkeep's local snapshots, the last verify recorded by `cloudkeep start`.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotInfo, SnapshotTarget } from '../core/orchestration/ports.ts';
import type { DiscoveredResource } from '../core/policy/plan.ts';
import type { Inventory, PolicyRunner, SnapshotCatalog, VerifyHistory, VerifyRecord } from '../functions/api/ports.ts';
import { LOCAL_REGION } from '../providers/local/local-discovery.ts';
import type { ScheduledRunner } from './local-schedule-loop.ts';
import { LOCAL_ACCOUNT } from './local-run.ts';
import type { LocalPlane } from './local-plane.ts';

/** Every local volume, as an ebs-volume of the local account. */
export class LocalInventory implements Inventory {
  private readonly plane: LocalPlane;

  constructor(plane: LocalPlane) {
    this.plane = plane;
  }

  async resources(account: string): Promise<DiscoveredResource[]> {
    if (account !== LOCAL_ACCOUNT) return [];
    const found = await this.plane.discovery.list(LOCAL_REGION, ['ebs-volume']);
    return found.map((r) => ({ provider: 'aws', account, region: r.region, type: r.type, id: r.id, tags: r.tags }));
  }
}

/**
 * Runs through the state machine in the background: run now backs up every selected volume; a scheduled
 * run (cli/local-schedule-loop.ts) backs up those whose backup schedule is due, as in AWS.
 */
export class LocalPolicyRunner implements PolicyRunner, ScheduledRunner {
  private readonly plane: LocalPlane;

  constructor(plane: LocalPlane) {
    this.plane = plane;
  }

  runNow(account: string, policyId: string): Promise<{ sessionId: string }> {
    return this.plane.startRun(account, policyId, { force: true });
  }

  runScheduled(account: string, policyId: string): Promise<{ sessionId: string }> {
    return this.plane.startRun(account, policyId);
  }
}

/** The local snapshots of a volume (other resource types have none). */
export class LocalSnapshotCatalog implements SnapshotCatalog {
  private readonly plane: LocalPlane;

  constructor(plane: LocalPlane) {
    this.plane = plane;
  }

  async list(account: string, target: SnapshotTarget): Promise<SnapshotInfo[]> {
    if (account !== LOCAL_ACCOUNT || target.type !== 'ebs-volume') return [];
    if (!(await this.plane.discovery.volumeIds()).includes(target.id)) return [];
    return this.plane.snapshotter.list(target, {});
  }
}

/** The last verify, kept in <dir>/last-verify.json. */
export class FileVerifyHistory implements VerifyHistory {
  private readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'last-verify.json');
  }

  async record(entry: VerifyRecord): Promise<void> {
    await writeFile(`${this.path}.tmp`, JSON.stringify(entry));
    await rename(`${this.path}.tmp`, this.path);
  }

  async last(): Promise<VerifyRecord | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as VerifyRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}
