// EC2 restore actions for the EBS test server (its ec2Extension): volumes, images, instances, workers and snapshot copies over its snapshots.
import type { EbsTestServer } from './ebs-test-server.ts';
import { requestTags } from './fake-aws-query-server.ts';
import { workerAction, type FakeWorker } from './fake-ec2-workers.ts';

export interface FakeVolume { id: string; az: string; snapshotId: string; sizeGiB: number; type: string; state: string; tags: Record<string, string>; checks: number }
export interface FakeImage { id: string; rootSnapshotId: string; rootDevice: string; architecture: string; tags: Record<string, string> }
export interface FakeRestoredInstance { id: string; state: 'running' | 'terminated'; params: Record<string, string>; tags: Record<string, string> }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const tagSet = (tags: Record<string, string>) => `<tagSet>${Object.entries(tags).map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join('')}</tagSet>`;
const fail = (code: string, message: string) => Object.assign(new Error(message), { code });
const list = (p: URLSearchParams, prefix: string) => [...p].filter(([k]) => new RegExp(`^${prefix}\\.\\d+$`).test(k)).map(([, v]) => v);

/** Filter.N.Name/Value.M as a predicate over tags and state. */
function matches(p: URLSearchParams, tags: Record<string, string>, state: string): boolean {
  for (let n = 1; p.has(`Filter.${n}.Name`); n++) {
    const name = p.get(`Filter.${n}.Name`)!;
    const values = list(p, `Filter\\.${n}\\.Value`);
    const tag = /^tag:(.+)$/.exec(name)?.[1];
    if (tag && !values.includes(tags[tag])) return false;
    if (name === 'instance-state-name' && !values.includes(state)) return false;
  }
  return true;
}

let counter = 0;
const newId = (prefix: string) => `${prefix}-${(++counter).toString(16).padStart(17, '0')}`;

export class FakeEc2Restore {
  readonly volumes: FakeVolume[] = [];
  readonly images: FakeImage[] = [];
  readonly instances: FakeRestoredInstance[] = [];
  readonly workers: FakeWorker[] = [];
  readonly shares: Array<{ snapshotId: string; accountId: string }> = [];
  /** CopySnapshot results: pending until described once by a filter (DescribeSnapshots), then completed. */
  readonly copies: Array<{ id: string; sourceId: string }> = [];
  /** The next CreateVolume fails with this code. */
  failCreateVolume: string | null = null;
  /** The next call of an action fails with the code: action -> code. */
  readonly failNext = new Map<string, string>();
  readonly #ebs: EbsTestServer;

  constructor(ebs: EbsTestServer) {
    this.#ebs = ebs;
    ebs.ec2Extension = (action, p) => this.handle(action, p);
  }

  reset(): void {
    for (const a of [this.volumes, this.images, this.instances, this.workers, this.shares, this.copies]) a.length = 0;
    this.failCreateVolume = null;
    this.failNext.clear();
  }

  handle(action: string, p: URLSearchParams): string | undefined {
    const region = this.#ebs.region;
    const vol = (v: FakeVolume) => `<item><volumeId>${v.id}</volumeId><size>${v.sizeGiB}</size><snapshotId>${v.snapshotId}</snapshotId><availabilityZone>${v.az}</availabilityZone><status>${v.state}</status><volumeType>${v.type}</volumeType>${tagSet(v.tags)}</item>`;
    const inst = (i: { id: string; state: string; tags: Record<string, string> }) => `<item><instanceId>${i.id}</instanceId><instanceState><code>${i.state === 'running' ? 16 : 48}</code><name>${i.state}</name></instanceState>${tagSet(i.tags)}</item>`;
    const injected = this.failNext.get(action);
    if (injected) {
      this.failNext.delete(action);
      throw fail(injected, `injected ${action} failure`);
    }
    switch (action) {
      case 'CopySnapshot': {
        const source = this.#ebs.snapshots.get(p.get('SourceSnapshotId')!);
        if (!source) throw fail('InvalidSnapshot.NotFound', `The snapshot '${p.get('SourceSnapshotId')}' does not exist.`);
        const id = newId('snap');
        this.#ebs.snapshots.set(id, { ...source, id, blocks: new Map(source.blocks), status: 'pending', startTime: new Date(), description: p.get('Description') ?? '', tags: requestTags(p), clientToken: undefined });
        this.copies.push({ id, sourceId: source.id });
        return `<snapshotId>${id}</snapshotId>`;
      }
      case 'CreateVolume': {
        if (this.failCreateVolume) {
          const code = this.failCreateVolume;
          this.failCreateVolume = null;
          throw fail(code, `volume limit exceeded in ${p.get('AvailabilityZone')}`);
        }
        const v = { id: newId('vol'), az: p.get('AvailabilityZone')!, snapshotId: p.get('SnapshotId')!, sizeGiB: Number(p.get('Size')), type: p.get('VolumeType') ?? 'gp2', state: 'creating', tags: requestTags(p), checks: 0 };
        this.volumes.push(v);
        return `<volumeId>${v.id}</volumeId><size>${v.sizeGiB}</size><snapshotId>${v.snapshotId}</snapshotId><availabilityZone>${v.az}</availabilityZone><status>${v.state}</status>${tagSet(v.tags)}`;
      }
      case 'DescribeVolumes': {
        const ids = list(p, 'VolumeId');
        const found = this.volumes.filter((v) => (ids.length ? ids.includes(v.id) : matches(p, v.tags, v.state)) && v.state !== 'deleted');
        for (const v of found) if (ids.length && v.state === 'creating' && ++v.checks > 1) v.state = 'available';
        return `<volumeSet>${found.map(vol).join('')}</volumeSet>`;
      }
      case 'DeleteVolume': {
        const v = this.volumes.find((x) => x.id === p.get('VolumeId') && x.state !== 'deleted');
        if (!v) throw fail('InvalidVolume.NotFound', `The volume '${p.get('VolumeId')}' does not exist.`);
        v.state = 'deleted';
        return '<return>true</return>';
      }
      case 'RegisterImage': {
        const root = p.get('BlockDeviceMapping.1.Ebs.SnapshotId')!;
        if (!this.#ebs.snapshots.has(root)) throw fail('InvalidSnapshot.NotFound', `The snapshot '${root}' does not exist.`);
        if (this.#ebs.snapshots.get(root)!.status !== 'completed') throw fail('IncorrectState', `Snapshot '${root}' is not in the completed state.`);
        const image = { id: newId('ami'), rootSnapshotId: root, rootDevice: p.get('RootDeviceName')!, architecture: p.get('Architecture')!, tags: requestTags(p) };
        this.images.push(image);
        return `<imageId>${image.id}</imageId>`;
      }
      case 'DescribeImages':
        return `<imagesSet>${this.images.filter((i) => matches(p, i.tags, 'available')).map((i) => `<item><imageId>${i.id}</imageId>${tagSet(i.tags)}</item>`).join('')}</imagesSet>`;
      case 'DeregisterImage': {
        const at = this.images.findIndex((i) => i.id === p.get('ImageId'));
        if (at < 0) throw fail('InvalidAMIID.NotFound', `The image id '[${p.get('ImageId')}]' does not exist`);
        this.images.splice(at, 1);
        return '<return>true</return>';
      }
      case 'ModifySnapshotAttribute':
        this.shares.push({ snapshotId: p.get('SnapshotId')!, accountId: p.get('CreateVolumePermission.Add.1.UserId') ?? p.get('UserId.1') ?? '' });
        return '<return>true</return>';
      case 'DescribeSnapshots': {
        if (!p.has('Filter.1.Name')) return undefined;
        const found = [...this.#ebs.snapshots.values()].filter((s) => matches(p, s.tags, s.status));
        const xml = `<snapshotSet>${found.map((s) => `<item><snapshotId>${s.id}</snapshotId><status>${s.status}</status>${tagSet(s.tags)}</item>`).join('')}</snapshotSet>`;
        // A copy completes once it has been seen pending.
        for (const s of found) if (s.status === 'pending' && this.copies.some((c) => c.id === s.id)) s.status = 'completed';
        return xml;
      }
      case 'DescribeInstances': {
        const all = [...this.instances, ...this.workers].filter((i) => matches(p, i.tags, i.state));
        return `<reservationSet>${all.map((i) => `<item><reservationId>r-${i.id}</reservationId><instancesSet>${inst(i)}</instancesSet></item>`).join('')}</reservationSet>`;
      }
      case 'RunInstances': {
        if (p.has('LaunchTemplate.LaunchTemplateName') || p.has('LaunchTemplate.LaunchTemplateId')) return workerAction(this.workers, action, p, region, requestTags(p), fail);
        if (!this.images.some((i) => i.id === p.get('ImageId'))) throw fail('InvalidAMIID.NotFound', `The image id '[${p.get('ImageId')}]' does not exist`);
        const i: FakeRestoredInstance = { id: newId('i'), state: 'running', params: Object.fromEntries(p), tags: requestTags(p) };
        this.instances.push(i);
        return `<reservationId>r-${i.id}</reservationId><instancesSet>${inst(i)}</instancesSet>`;
      }
      case 'TerminateInstances': {
        const ids = list(p, 'InstanceId');
        if (ids.every((id) => this.workers.some((w) => w.id === id))) return workerAction(this.workers, action, p, region, {}, fail);
        const found = this.instances.filter((i) => ids.includes(i.id));
        if (found.length !== ids.length) throw fail('InvalidInstanceID.NotFound', `The instance ID '${ids.join(', ')}' does not exist`);
        for (const i of found) i.state = 'terminated';
        return `<instancesSet>${found.map(inst).join('')}</instancesSet>`;
      }
      default:
        return undefined;
    }
  }
}
