// An in-process HTTP server speaking the AWS Query protocols of EC2, RDS and STS (and SSM's JSON 1.1, fake-ssm.ts), over one in-memory cloud (instances, volumes, DBs, Aurora clusters).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { workerAction, type FakeWorker } from './fake-ec2-workers.ts';
import { ssm, type FakeSsmState } from './fake-ssm.ts';

export type { FakeWorker } from './fake-ec2-workers.ts';
export type { FakeCommand, FakeScriptOutcome } from './fake-ssm.ts';

export interface FakeInstance {
  id: string; region: string; volumeIds: string[]; tags: Record<string, string>; volumeSizeGiB?: number;
  /** Launch configuration DescribeInstances reports (absent: none, as the older fake did). */
  config?: { instanceType: string; subnetId: string; securityGroupIds: string[]; availabilityZone: string; architecture: string };
}
export interface FakeDb { id: string; region: string; tags: Record<string, string> }
/** An Aurora cluster (engine default aurora-postgresql; another engine is not Aurora). */
export interface FakeCluster { id: string; region: string; tags: Record<string, string>; engine?: string }
/** A volume attached to no instance: DescribeVolumes lists it with its tags, CreateSnapshot snapshots it. */
export interface FakeVolume { id: string; region: string; tags: Record<string, string>; sizeGiB: number }
export interface FakeSnapshot { id: string; region: string; volumeId?: string; dbId?: string; clusterId?: string; state: 'pending' | 'completed' | 'error'; startTime: number; tags: Record<string, string>; checks: number; sizeGiB?: number }

export interface FakeCloud extends FakeSsmState {
  instances: FakeInstance[];
  databases: FakeDb[];
  clusters: FakeCluster[];
  volumes: FakeVolume[];
  snapshots: FakeSnapshot[];
  /** Instance (and volume) ids whose CreateSnapshots (CreateSnapshot) fails with an error response. */
  failCreateFor: Set<string>;
  /** Describe calls a new snapshot stays pending before it completes. */
  pendingChecks: number;
  /** Every call, as "service:Action:region". */
  calls: string[];
  assumedRoles: { roleArn: string; externalId: string | undefined }[];
  /** Worker instances started with RunInstances. */
  workers: FakeWorker[];
}

export interface FakeAwsServer { endpoint: string; cloud: FakeCloud; stop(): Promise<void> }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const el = (name: string, value: string | number | undefined) => (value === undefined ? '' : `<${name}>${typeof value === 'number' ? value : esc(value)}</${name}>`);
const iso = (ms: number) => new Date(ms).toISOString();
const ec2Tags = (tags: Record<string, string>) => `<tagSet>${Object.entries(tags).map(([k, v]) => `<item>${el('key', k)}${el('value', v)}</item>`).join('')}</tagSet>`;
const rdsTags = (tags: Record<string, string>) => `<TagList>${Object.entries(tags).map(([k, v]) => `<Tag>${el('Key', k)}${el('Value', v)}</Tag>`).join('')}</TagList>`;

class QueryError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Tags of a request: any Key/Value pair named ...Tag.N.Key / ...Tag.N.Value. */
export function requestTags(p: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of p) {
    const m = /^(.*Tag\.\d+)\.Key$/.exec(key);
    if (m) tags[value] = p.get(`${m[1]}.Value`) ?? '';
  }
  return tags;
}

const listParam = (p: URLSearchParams, prefix: string) => [...p].filter(([k]) => new RegExp(`^${prefix}\\.\\d+$`).test(k)).map(([, v]) => v);

function filters(p: URLSearchParams): { name: string; values: string[] }[] {
  const out = [];
  for (let n = 1; p.has(`Filter.${n}.Name`); n++) out.push({ name: p.get(`Filter.${n}.Name`) as string, values: listParam(p, `Filter\\.${n}\\.Value`) });
  return out;
}

let counter = 0;
const newId = (prefix: string) => `${prefix}-${(++counter).toString(16).padStart(8, '0')}`;

const instanceConfigXml = ({ config: c }: FakeInstance) => (!c ? '' : `${el('instanceType', c.instanceType)}${el('subnetId', c.subnetId)}<placement>${el('availabilityZone', c.availabilityZone)}</placement>`
  + `${el('architecture', c.architecture)}${el('rootDeviceName', '/dev/xvda')}${el('enaSupport', 'true')}<groupSet>${c.securityGroupIds.map((g) => `<item>${el('groupId', g)}</item>`).join('')}</groupSet>`);

/** Snapshots move pending -> completed after `pendingChecks` describes. */
function advance(cloud: FakeCloud, s: FakeSnapshot): FakeSnapshot {
  if (s.state === 'pending' && ++s.checks > cloud.pendingChecks) s.state = 'completed';
  return s;
}

function ec2(cloud: FakeCloud, action: string, p: URLSearchParams, region: string): string {
  const snap = (s: FakeSnapshot, stateTag: string) => `<item>${el('snapshotId', s.id)}${el('volumeId', s.volumeId)}${el('volumeSize', s.sizeGiB)}${el(stateTag, s.state)}${el('startTime', iso(s.startTime))}${el('ownerId', '111122223333')}${ec2Tags(s.tags)}</item>`;
  switch (action) {
    case 'DescribeInstances': {
      const items = cloud.instances.filter((i) => i.region === region).map((i) =>
        `<item>${el('reservationId', `r-${i.id}`)}<instancesSet><item>${el('instanceId', i.id)}${instanceConfigXml(i)}<instanceState><code>16</code><name>running</name></instanceState><blockDeviceMapping>${i.volumeIds.map((v, n) => `<item>${el('deviceName', `/dev/xvd${'abcdefgh'[n]}`)}<ebs>${el('volumeId', v)}</ebs></item>`).join('')}</blockDeviceMapping>${ec2Tags(i.tags)}</item></instancesSet></item>`);
      return `<reservationSet>${items.join('')}</reservationSet>`;
    }
    case 'DescribeVolumes': {
      const attached = cloud.instances.filter((i) => i.region === region).flatMap((i) => i.volumeIds).map((v) => `<item>${el('volumeId', v)}<tagSet/></item>`);
      const standalone = cloud.volumes.filter((v) => v.region === region).map((v) => `<item>${el('volumeId', v.id)}${el('size', v.sizeGiB)}${el('status', 'available')}${ec2Tags(v.tags)}</item>`);
      return `<volumeSet>${[...attached, ...standalone].join('')}</volumeSet>`;
    }
    case 'CreateSnapshot': {
      const volume = cloud.volumes.find((v) => v.id === p.get('VolumeId') && v.region === region);
      if (!volume) throw new QueryError('InvalidVolume.NotFound', `The volume '${p.get('VolumeId')}' does not exist.`);
      if (cloud.failCreateFor.has(volume.id)) throw new QueryError('SnapshotCreationPerVolumeRateExceeded', `snapshot rate exceeded for ${volume.id}`);
      const s: FakeSnapshot = { id: newId('snap'), region, volumeId: volume.id, state: 'pending', startTime: Date.now(), tags: requestTags(p), checks: 0, sizeGiB: volume.sizeGiB };
      cloud.snapshots.push(s);
      return `${el('snapshotId', s.id)}${el('volumeId', s.volumeId)}${el('volumeSize', s.sizeGiB)}${el('status', s.state)}${el('startTime', iso(s.startTime))}${el('ownerId', '111122223333')}${ec2Tags(s.tags)}`;
    }
    case 'CreateSnapshots': {
      const instance = cloud.instances.find((i) => i.id === p.get('InstanceSpecification.InstanceId') && i.region === region);
      if (!instance) throw new QueryError('InvalidInstanceID.NotFound', `The instance ID '${p.get('InstanceSpecification.InstanceId')}' does not exist`);
      cloud.timeline.push(`CreateSnapshots ${instance.id}`);
      if (cloud.failCreateFor.has(instance.id)) throw new QueryError('SnapshotCreationPerVolumeRateExceeded', `snapshot rate exceeded for the volumes of ${instance.id}`);
      const tags = requestTags(p);
      const created = instance.volumeIds.map((volumeId) => ({ id: newId('snap'), region, volumeId, state: 'pending' as const, startTime: Date.now(), tags, checks: 0, sizeGiB: instance.volumeSizeGiB ?? 8 }));
      cloud.snapshots.push(...created);
      return `<snapshotSet>${created.map((s) => snap(s, 'state')).join('')}</snapshotSet>`;
    }
    case 'DescribeSnapshots': {
      const ids = listParam(p, 'SnapshotId');
      let found = cloud.snapshots.filter((s) => s.region === region && s.volumeId);
      if (ids.length > 0) {
        const missing = ids.filter((id) => !found.some((s) => s.id === id));
        if (missing.length > 0) throw new QueryError('InvalidSnapshot.NotFound', `The snapshot '${missing[0]}' does not exist.`);
        found = found.filter((s) => ids.includes(s.id)).map((s) => advance(cloud, s));
      }
      for (const f of filters(p)) {
        const tag = /^tag:(.+)$/.exec(f.name)?.[1];
        if (tag) found = found.filter((s) => f.values.includes(s.tags[tag]));
        else if (f.name === 'volume-id') found = found.filter((s) => f.values.includes(s.volumeId ?? ''));
      }
      return `<snapshotSet>${found.map((s) => snap(s, 'status')).join('')}</snapshotSet>`;
    }
    case 'DeleteSnapshot': {
      const id = p.get('SnapshotId');
      const at = cloud.snapshots.findIndex((s) => s.id === id && s.region === region);
      if (at < 0) throw new QueryError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
      cloud.snapshots.splice(at, 1);
      return '<return>true</return>';
    }
    default: {
      const worker = workerAction(cloud.workers, action, p, region, requestTags(p), (code, message) => new QueryError(code, message));
      if (worker !== undefined) return worker;
      throw new QueryError('InvalidAction', `fake EC2 does not implement ${action}`);
    }
  }
}

/** DB instance and Aurora cluster snapshots: the same calls with other names. */
const RDS_KINDS = {
  db: { snap: 'DBSnapshot', snapId: 'DBSnapshotIdentifier', owner: 'DBInstanceIdentifier', owned: 'dbId', missing: 'DBSnapshotNotFound', ownerMissing: 'DBInstanceNotFound' },
  cluster: { snap: 'DBClusterSnapshot', snapId: 'DBClusterSnapshotIdentifier', owner: 'DBClusterIdentifier', owned: 'clusterId', missing: 'DBClusterSnapshotNotFoundFault', ownerMissing: 'DBClusterNotFoundFault' },
} as const;

function rds(cloud: FakeCloud, action: string, p: URLSearchParams, region: string): string {
  const k = RDS_KINDS[/Cluster/.test(action) ? 'cluster' : 'db'];
  const snapXml = (s: FakeSnapshot) => `<${k.snap}>${el(k.snapId, s.id)}${el(k.owner, s[k.owned])}${el('SnapshotCreateTime', iso(s.startTime))}${el('Status', s.state === 'completed' ? 'available' : s.state === 'error' ? 'failed' : 'creating')}${el('SnapshotType', 'manual')}${rdsTags(s.tags)}</${k.snap}>`;
  const snapshots = () => cloud.snapshots.filter((s) => s.region === region && s[k.owned]);
  switch (action) {
    case 'DescribeDBInstances':
      return `<DBInstances>${cloud.databases.filter((d) => d.region === region).map((d) => `<DBInstance>${el('DBInstanceIdentifier', d.id)}${el('Engine', 'postgres')}${rdsTags(d.tags)}</DBInstance>`).join('')}</DBInstances>`;
    case 'DescribeDBClusters':
      return `<DBClusters>${cloud.clusters.filter((c) => c.region === region).map((c) => `<DBCluster>${el('DBClusterIdentifier', c.id)}${el('Engine', c.engine ?? 'aurora-postgresql')}${rdsTags(c.tags)}</DBCluster>`).join('')}</DBClusters>`;
    case 'CreateDBSnapshot':
    case 'CreateDBClusterSnapshot': {
      const owners: { id: string; region: string }[] = k === RDS_KINDS.db ? cloud.databases : cloud.clusters;
      const owner = owners.find((d) => d.id === p.get(k.owner) && d.region === region);
      if (!owner) throw new QueryError(k.ownerMissing, `${k.owner} ${p.get(k.owner)} not found.`, 404);
      const s: FakeSnapshot = { id: p.get(k.snapId) as string, region, [k.owned]: owner.id, state: 'pending', startTime: Date.now(), tags: requestTags(p), checks: 0 };
      cloud.snapshots.push(s);
      return snapXml(s);
    }
    case 'DescribeDBSnapshots':
    case 'DescribeDBClusterSnapshots': {
      const id = p.get(k.snapId);
      let found = snapshots();
      if (id) {
        found = found.filter((s) => s.id === id).map((s) => advance(cloud, s));
        if (found.length === 0) throw new QueryError(k.missing, `${k.snap} ${id} not found.`, 404);
      }
      if (p.get(k.owner)) found = found.filter((s) => s[k.owned] === p.get(k.owner));
      return `<${k.snap}s>${found.map(snapXml).join('')}</${k.snap}s>`;
    }
    case 'DeleteDBSnapshot':
    case 'DeleteDBClusterSnapshot': {
      const at = cloud.snapshots.findIndex((s) => s.id === p.get(k.snapId) && s.region === region && s[k.owned]);
      if (at < 0) throw new QueryError(k.missing, `${k.snap} ${p.get(k.snapId)} not found.`, 404);
      const [s] = cloud.snapshots.splice(at, 1);
      return snapXml(s);
    }
    default:
      throw new QueryError('InvalidAction', `fake RDS does not implement ${action}`);
  }
}

function sts(cloud: FakeCloud, action: string, p: URLSearchParams): string {
  if (action !== 'AssumeRole') throw new QueryError('InvalidAction', `fake STS does not implement ${action}`);
  const roleArn = p.get('RoleArn') ?? '';
  cloud.assumedRoles.push({ roleArn, externalId: p.get('ExternalId') ?? undefined });
  return `<Credentials>${el('AccessKeyId', 'ASIAFAKE')}${el('SecretAccessKey', 'secret')}${el('SessionToken', `token-${cloud.assumedRoles.length}`)}${el('Expiration', iso(Date.now() + 3_600_000))}</Credentials><AssumedRoleUser>${el('AssumedRoleId', 'AROAFAKE:cloudkeep')}${el('Arn', roleArn)}</AssumedRoleUser>`;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One SSM call (JSON 1.1), logged in `calls` like the Query ones. */
function ssmResponse(state: FakeCloud, action: string, raw: string, region: string, res: ServerResponse): void {
  state.calls.push(`ssm:${action}:${region}`);
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${state.calls.length}` };
  try {
    const json = ssm(state, action, raw, region, (code, message) => new QueryError(code, message));
    res.writeHead(200, headers).end(json);
  } catch (err) {
    const e = err instanceof QueryError ? err : new QueryError('InternalServerError', String(err), 500);
    res.writeHead(e.status, headers).end(JSON.stringify({ __type: e.code, message: e.message }));
  }
}

export async function startFakeAwsServer(cloud: Partial<FakeCloud> = {}): Promise<FakeAwsServer> {
  const state: FakeCloud = { instances: [], databases: [], clusters: [], volumes: [], snapshots: [], failCreateFor: new Set(), pendingChecks: 1, calls: [], assumedRoles: [], workers: [], commands: [], timeline: [], scriptOutcome: () => ({ status: 'Success' }), ...cloud };
  const server: Server = createServer((req, res) => void (async () => {
    const raw = await body(req);
    const scope = /Credential=[^/]+\/\d+\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization ?? '');
    const [region, service] = [scope?.[1] ?? 'us-east-1', scope?.[2] ?? ''];
    const target = /^AmazonSSM\.(\w+)$/.exec(String(req.headers['x-amz-target'] ?? ''))?.[1];
    if (target) return ssmResponse(state, target, raw, region, res);
    const p = new URLSearchParams(raw);
    const action = p.get('Action') ?? '';
    state.calls.push(`${service}:${action}:${region}`);
    const requestId = `req-${state.calls.length}`;
    try {
      const inner = service === 'ec2' ? ec2(state, action, p, region) : service === 'rds' ? rds(state, action, p, region) : sts(state, action, p);
      const xml = service === 'ec2'
        ? `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">${el('requestId', requestId)}${inner}</${action}Response>`
        : `<${action}Response><${action}Result>${inner}</${action}Result><ResponseMetadata>${el('RequestId', requestId)}</ResponseMetadata></${action}Response>`;
      res.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
    } catch (err) {
      const e = err instanceof QueryError ? err : new QueryError('InternalError', String(err), 500);
      const xml = service === 'ec2'
        ? `<Response><Errors><Error>${el('Code', e.code)}${el('Message', e.message)}</Error></Errors>${el('RequestID', requestId)}</Response>`
        : `<ErrorResponse><Error>${el('Type', 'Sender')}${el('Code', e.code)}${el('Message', e.message)}</Error>${el('RequestId', requestId)}</ErrorResponse>`;
      res.writeHead(e.status, { 'content-type': 'text/xml' }).end(xml);
    }
  })());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cloud: state,
    stop: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }),
  };
}
