// The embedded default's control plane on one directory: volumes/, control/ (file control store),
// schedules/ (local scheduler), repo/ (the demo repository), a generated passphrase, the state machine
// run by runLocal with child-process workers. Shared by `cloudkeep local run`, `cloudkeep start` and the local API.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../core/clock.ts';
import { asAccountId } from '../core/control/control-ids.ts';
import type { ControlStore } from '../core/control/control-store.ts';
import { RepositoryNotFoundError } from '../core/errors.ts';
import { checkTargets, type ApplyTargets } from '../core/policy/apply.ts';
import { computeApplyPlan, executeApply } from '../core/policy/apply-execute.ts';
import { parsePolicy, type Policy } from '../core/policy/policy-schema.ts';
import type { Scheduler } from '../core/policy/scheduler-port.ts';
import { DEFAULT_PARAMS } from '../core/repo/config.ts';
import { Repository } from '../core/repo/repository.ts';
import { formatBytes } from '../core/util/units.ts';
import { FileSessionLog } from '../functions/api/session-log.ts';
import { FileControlStore } from '../providers/local/file-control-store.ts';
import { generateImage } from '../providers/local/image-generator.ts';
import { LOCAL_REGION, LocalDiscovery } from '../providers/local/local-discovery.ts';
import { LocalScheduler } from '../providers/local/local-scheduler.ts';
import { LocalSnapshotter } from '../providers/local/local-snapshotter.ts';
import { LocalVolumeProvider } from '../providers/local/local-volume-provider.ts';
import { LocalWorkerLauncher } from '../providers/local/local-worker-launcher.ts';
import { keyProviders, readPassphrase, type GlobalOptions } from './context.ts';
import { demoPolicy, LOCAL_ACCOUNT, runLocal, type LocalRunOptions, type LocalRunResult } from './local-run.ts';
import { openStore } from './repo-url.ts';
import { loadDefinition, type Definition } from './state-machine-definition.ts';

export const DEMO_VOLUMES = ['vol-demo-1', 'vol-demo-2'];

/** Where local schedules point: a placeholder state machine in the local account. */
export const LOCAL_TARGETS: ApplyTargets = checkTargets({
  stateMachineArn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:cloudkeep-backup`,
  roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/cloudkeep-local-scheduler`,
  groupName: 'cloudkeep',
});

/**
 * Applies `policy` like `cloudkeep policy apply` (control store and schedules), keeping the other
 * policies stored in its account (e.g. made in the console). Returns the changes made.
 */
export async function applyLocalPolicy(store: ControlStore, scheduler: Scheduler, policy: Policy): Promise<number> {
  const stored = await store.listPolicies(asAccountId(policy.account.id));
  const others = stored.filter((p) => p.id !== policy.id).map((p) => parsePolicy(p.body, `stored policy ${p.id}`));
  const plan = await computeApplyPlan([policy, ...others], store, scheduler, LOCAL_TARGETS);
  return plan.changes === 0 ? 0 : executeApply(plan, store, scheduler);
}

export interface LocalPlaneOptions {
  /** Recreate the directory first. */
  fresh?: boolean;
  /** Progress lines for people. */
  say?: (line: string) => void;
}

export class LocalPlane {
  readonly dir: string;
  readonly g: GlobalOptions;
  readonly volumes: LocalVolumeProvider;
  readonly discovery: LocalDiscovery;
  readonly snapshotter: LocalSnapshotter;
  readonly store: FileControlStore;
  readonly scheduler: LocalScheduler;
  readonly launcher: LocalWorkerLauncher;
  readonly sessionLog: FileSessionLog;
  readonly demoRepository: string;
  private readonly say: (line: string) => void;
  private readonly repos = new Map<string, Promise<Repository>>();
  private readonly runs = new Set<Promise<unknown>>();
  private definition?: Promise<Definition>;

  private constructor(dir: string, g: GlobalOptions, say: (line: string) => void) {
    this.dir = dir;
    this.g = g;
    this.say = say;
    this.volumes = new LocalVolumeProvider({ root: join(dir, 'volumes') });
    this.discovery = new LocalDiscovery(this.volumes);
    this.snapshotter = new LocalSnapshotter(this.volumes);
    this.store = new FileControlStore(join(dir, 'control'));
    this.scheduler = new LocalScheduler(join(dir, 'schedules'));
    this.sessionLog = new FileSessionLog(join(dir, 'session-log'));
    this.demoRepository = pathToFileURL(join(dir, 'repo')).href;
    const threads = g.threads === undefined ? undefined : Number(g.threads);
    this.launcher = new LocalWorkerLauncher({ source: this.volumes, threads, secrets: () => this.secrets() });
  }

  /** Prepares `dir` (kept between runs unless `fresh`); without a passphrase given, one is generated into <dir>/passphrase. */
  static async open(dir: string, g0: GlobalOptions, options: LocalPlaneOptions = {}): Promise<LocalPlane> {
    const root = resolve(dir);
    if (options.fresh) await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    const passFile = join(root, 'passphrase');
    const ownPassphrase = !g0.passphraseFile && !process.env.CLOUDKEEP_PASSPHRASE;
    if (ownPassphrase && !existsSync(passFile)) await writeFile(passFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    return new LocalPlane(root, ownPassphrase ? { ...g0, passphraseFile: passFile } : g0, options.say ?? (() => undefined));
  }

  /** Creates the demo volumes (generated images of `size` bytes) when there are no volumes. */
  async ensureDemoVolumes(size: number): Promise<void> {
    if ((await this.discovery.volumeIds()).length > 0) return;
    for (const id of DEMO_VOLUMES) {
      await this.volumes.createVolume(id, size);
      await generateImage(this.volumes.volumePath(id), { size, seed: `cloudkeep-local-${id}` });
      this.say(`created volume ${id} (${formatBytes(size)})`);
    }
  }

  /** Applies `policy` into this plane's control store and schedules (applyLocalPolicy). */
  apply(policy: Policy): Promise<number> {
    return applyLocalPolicy(this.store, this.scheduler, policy);
  }

  /** The demo policy: every local volume into <dir>/repo. */
  demoPolicy(): Policy {
    return demoPolicy(this.demoRepository);
  }

  /** Opens a repository once per URL; the demo repository is created on first use. */
  repository(url: string): Promise<Repository> {
    if (!this.repos.has(url)) {
      const opened = this.openRepository(url);
      opened.catch(() => this.repos.delete(url));
      this.repos.set(url, opened);
    }
    return this.repos.get(url)!;
  }

  /** The backup state machine's definition (cached per source hash; synthesized when infra/ changed). */
  stateMachine(): Promise<Definition> {
    this.definition ??= loadDefinition().then(({ definition, synthesized }) => {
      if (synthesized) this.say('synthesized the state machine definition (cached for later starts)');
      return definition;
    });
    return this.definition;
  }

  /** Runs the policy once through the state machine; waits for the end. */
  async run(policyId: string, options: Pick<LocalRunOptions, 'account' | 'force' | 'now' | 'onSession' | 'maxConcurrency'> = {}): Promise<LocalRunResult> {
    const definition = await this.stateMachine();
    // Two workers at once: the demo's two volumes back up side by side.
    const run = runLocal({ store: this.store, discovery: this.discovery, snapshotter: this.snapshotter, launcher: this.launcher, sessionLog: this.sessionLog, definition, policyId, maxConcurrency: 2, ...options });
    this.runs.add(run);
    try {
      return await run;
    } finally {
      this.runs.delete(run);
    }
  }

  /** Starts a run in the background; resolves with its session id once the session exists. */
  startRun(account: string, policyId: string, options: Pick<LocalRunOptions, 'force'> = {}): Promise<{ sessionId: string }> {
    return new Promise((ok, fail) => {
      let started = false;
      const onSession = (sessionId: string) => {
        started = true;
        ok({ sessionId });
      };
      this.run(policyId, { ...options, account, onSession }).then(
        (r) => (started ? undefined : fail(new Error(`the run of policy ${policyId} ended (${r.status}) before opening a session`))),
        (err: unknown) => (started ? this.say(`run of policy ${policyId} failed: ${(err as Error).message}`) : fail(err)),
      );
    });
  }

  /** Resolves once no run is going on. */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.allSettled([...this.runs]);
  }

  private async openRepository(url: string): Promise<Repository> {
    const store = await openStore(url);
    const providers = await keyProviders(this.g);
    try {
      return await Repository.open(store, providers, systemClock);
    } catch (err) {
      if (!(err instanceof RepositoryNotFoundError) || url !== this.demoRepository) throw err;
      return Repository.init(store, providers[0], DEFAULT_PARAMS, systemClock);
    }
  }

  /** What worker processes need for the "passphrase" key spec; nothing when no passphrase is configured. */
  private async secrets(): Promise<Record<string, string>> {
    const pass = await readPassphrase(this.g).catch(() => undefined);
    return pass ? { CLOUDKEEP_PASSPHRASE: pass.reveal() } : {};
  }
}
