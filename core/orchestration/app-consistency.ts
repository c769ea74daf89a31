// Application-consistent instance snapshots: pre-script, one multi-volume CreateSnapshots (or, windowsVss, the AWSEC2-CreateVssSnapshot command), then always the post-script.
import { CloudkeepError, InvalidArgumentError, type CloudkeepErrorOptions } from '../errors.ts';
import type { ScriptResult, ScriptRunner, Snapshotter } from './ports.ts';
import type { ApplicationConsistency, ResourceItem } from './run-types.ts';
import { takeSnapshots, volumesOf, type SnapshotProgress } from './snapshot-run.ts';

/** Instances carrying this tag (any value) may receive scripts: the member role's SendCommand condition (infra/tags.ts SCRIPTS_TAG_KEY). */
export const SCRIPTS_TAG = 'cloudkeep:backup';

/** A pre- or post-script failed, did not finish in time, or could not run. Never retried: the instance state is unknown. */
export class ScriptFailedError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, { ...options, retryable: false });
    this.name = 'ScriptFailedError';
  }
}

/** How long a script may take. The TakeSnapshots Lambda's timeout covers two waits (infra/state-machine.ts). */
export interface ScriptWait {
  /** Seconds to wait for each script; also the script's own SSM timeout. @default 60 */
  waitSeconds?: number;
  /**
   * Seconds the pre-script and the VSS snapshot command share (windowsVss): the VSS wait is what the
   * pre-script left of it. With the 60 s post-script this stays inside the Lambda's 3 minutes. @default 100
   */
  vssBudgetSeconds?: number;
  /** Seconds between result checks. @default 2 */
  pollSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export const SCRIPT_WAIT_SECONDS = 60;
export const VSS_BUDGET_SECONDS = 100;
const OUTPUT_EXCERPT = 300;

const sleepMs = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The end of the script's output (the error usually is there), on one line. */
function excerpt(output: string | undefined): string {
  const text = (output ?? '').replace(/\s+/g, ' ').trim();
  if (!text) return '';
  return `; output: ${text.length > OUTPUT_EXCERPT ? `...${text.slice(-OUTPUT_EXCERPT)}` : text}`;
}

type Which = 'pre-script' | 'post-script' | 'VSS snapshot';

const commentOf = (item: ResourceItem, which: Which) => `Cloudkeep ${which} of session ${item.run.sessionId} (policy ${item.run.policyId})`.slice(0, 100);

/** Polls a sent command's result until it finished or `waitSeconds` passed. */
async function awaitCommand(scripts: ScriptRunner, item: ResourceItem, commandId: string, waitSeconds: number, wait: ScriptWait): Promise<ScriptResult> {
  const { id: instanceId, region } = item.resource;
  const now = wait.now ?? Date.now;
  const sleep = wait.sleep ?? sleepMs;
  const deadline = now() + waitSeconds * 1000;
  for (;;) {
    const result = await scripts.result(region, commandId, instanceId);
    if (result.status !== 'pending' || now() >= deadline) return result;
    await sleep(Math.min((wait.pollSeconds ?? 2) * 1000, Math.max(0, deadline - now())));
  }
}

/** Sends one script and waits for it. */
async function runScript(scripts: ScriptRunner, item: ResourceItem, which: Which, script: string, app: ApplicationConsistency, wait: ScriptWait): Promise<void> {
  const { id: instanceId, region } = item.resource;
  const waitSeconds = wait.waitSeconds ?? SCRIPT_WAIT_SECONDS;
  const { commandId } = await scripts.send({ instanceId, region, script, platform: app.platform, timeoutSeconds: waitSeconds, comment: commentOf(item, which) });
  const result = await awaitCommand(scripts, item, commandId, waitSeconds, wait);
  const what = `${which} ${JSON.stringify(script)} on ${instanceId} in ${region} (command ${commandId})`;
  const after = which === 'pre-script' ? '; no snapshot was taken' : '';
  if (result.status === 'pending') throw new ScriptFailedError(`${what} did not finish within ${waitSeconds} s (status ${result.detail ?? 'pending'})${after}`);
  if (result.status === 'failed') throw new ScriptFailedError(`${what} failed (status ${result.detail ?? 'failed'})${excerpt(result.output)}${after}`);
}

/**
 * windowsVss: the instance snapshots its own volumes through AWSEC2-CreateVssSnapshot (VSS freezes
 * the writers), tagged with the run's tags; the snapshots are then found by those tags.
 */
async function takeVssSnapshots(snapshotter: Snapshotter, scripts: ScriptRunner, item: ResourceItem, waitSeconds: number, wait: ScriptWait): Promise<SnapshotProgress> {
  const { type, id: instanceId, region } = item.resource;
  const description = `Cloudkeep ${item.run.policyId} ${instanceId}`;
  const { commandId } = await scripts.sendVssSnapshot({ instanceId, region, tags: item.tags, description, timeoutSeconds: waitSeconds, comment: commentOf(item, 'VSS snapshot') });
  const result = await awaitCommand(scripts, item, commandId, waitSeconds, wait);
  const what = `VSS snapshot (AWSEC2-CreateVssSnapshot) of ${instanceId} in ${region} (command ${commandId})`;
  if (result.status === 'pending') throw new ScriptFailedError(`${what} did not finish within ${waitSeconds} s (status ${result.detail ?? 'pending'}); snapshots it still takes carry the run's tags and retention prunes them`);
  if (result.status === 'failed') {
    throw new ScriptFailedError(`${what} failed (status ${result.detail ?? 'failed'})${excerpt(result.output)}; the instance's role needs ec2:CreateSnapshots, ec2:CreateTags and ec2:DescribeInstances, and the AWS VSS components`);
  }
  const found = await snapshotter.list({ type, id: instanceId, region }, item.tags);
  if (found.length === 0) throw new ScriptFailedError(`${what} succeeded, but no snapshot carries the run's tags (${JSON.stringify(item.tags)})`);
  return { snapshotIds: found.map((s) => s.id), complete: found.every((s) => s.status === 'completed'), volumes: volumesOf(found) };
}

/**
 * Snapshots the resource. An EC2 instance with `item.consistency`: the pre-script must succeed
 * before CreateSnapshots (windowsVss: the VSS snapshot command) (else no snapshot is taken and the resource fails); the post-script runs
 * after it in every case (also when the pre-script or the snapshot failed: the application must be
 * thawed). A failed post-script fails the resource but keeps its snapshots: they were taken after
 * the pre-script succeeded, so they are consistent, and later runs' retention prunes them.
 */
export async function snapshotResource(snapshotter: Snapshotter, scripts: ScriptRunner | undefined, item: ResourceItem, wait: ScriptWait = {}): Promise<SnapshotProgress> {
  const app = item.consistency;
  if (!app || item.resource.type !== 'ec2-instance') return takeSnapshots(snapshotter, item);
  const { id, region } = item.resource;
  if (!scripts) throw new InvalidArgumentError(`policy ${item.run.policyId} asks for application-consistent snapshots of ${id}, but this mode runs no scripts on instances; use consistency: crash`);
  if (!(SCRIPTS_TAG in item.resource.tags)) {
    throw new ScriptFailedError(`instance ${id} in ${region} lacks the tag ${SCRIPTS_TAG} that lets Cloudkeep send it the pre/post scripts (SSM SendCommand); tag it or set the policy's consistency to crash. No snapshot was taken`);
  }
  let progress: SnapshotProgress | undefined;
  let failure: unknown;
  const now = wait.now ?? Date.now;
  const started = now();
  try {
    await runScript(scripts, item, 'pre-script', app.preScript, app, wait);
    const vssWait = Math.max(1, Math.floor((wait.vssBudgetSeconds ?? VSS_BUDGET_SECONDS) - (now() - started) / 1000));
    progress = app.platform === 'windows' ? await takeVssSnapshots(snapshotter, scripts, item, vssWait, wait) : await takeSnapshots(snapshotter, item);
  } catch (err) {
    failure = err;
  }
  let postFailure: unknown;
  try {
    await runScript(scripts, item, 'post-script', app.postScript, app, wait);
  } catch (err) {
    postFailure = err;
  }
  if (failure !== undefined && postFailure !== undefined) {
    throw new ScriptFailedError(`${messageOf(failure)}; the post-script also failed: ${messageOf(postFailure)}`, { cause: failure });
  }
  if (failure !== undefined) throw failure;
  if (postFailure !== undefined || !progress) {
    const kept = progress?.snapshotIds.join(', ') || 'none';
    throw new ScriptFailedError(`${messageOf(postFailure)}; the application may still be quiesced. The snapshots (${kept}) were taken after the pre-script and are kept`, { cause: postFailure });
  }
  return progress;
}
