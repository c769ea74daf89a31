// The SSM Run Command part of the fake cloud: SendCommand and GetCommandInvocation over the JSON 1.1 protocol (x-amz-target AmazonSSM.*);
// AWSEC2-CreateVssSnapshot snapshots the instance's volumes in the fake EC2 cloud.

/** How a script sent to an instance ends. InProgress: it never finishes. */
export interface FakeScriptOutcome {
  status: 'Success' | 'Failed' | 'TimedOut' | 'InProgress';
  stdout?: string;
  stderr?: string;
  /** GetCommandInvocation answers InvocationDoesNotExist this many times first (as SSM does right after SendCommand). */
  unknownChecks?: number;
}

/** A command SendCommand accepted. */
export interface FakeCommand {
  id: string;
  region: string;
  instanceId: string;
  document: string;
  script: string;
  comment?: string;
  timeoutSeconds?: number;
  executionTimeout?: string;
  /** Every parameter as sent. */
  parameters: Record<string, string[]>;
  outcome: FakeScriptOutcome;
  checks: number;
}

/** An EBS snapshot a VSS command took (the fake EC2 cloud's snapshot shape). */
export interface FakeVssSnapshot { id: string; region: string; volumeId?: string; state: 'pending' | 'completed' | 'error'; startTime: number; tags: Record<string, string>; checks: number; sizeGiB?: number }

export interface FakeSsmState {
  instances: { id: string; region: string; tags: Record<string, string>; volumeIds?: string[]; volumeSizeGiB?: number }[];
  /** The fake EC2 cloud's snapshots, where AWSEC2-CreateVssSnapshot adds its own. */
  snapshots: FakeVssSnapshot[];
  commands: FakeCommand[];
  /** The outcome of a script on an instance; default Success. AWSEC2-CreateVssSnapshot asks with script "AWSEC2-CreateVssSnapshot" and snapshots only on Success. */
  scriptOutcome: (instanceId: string, script: string) => FakeScriptOutcome;
  /** Per-resource order of SendCommand and CreateSnapshots: "SendCommand <instance> <script or VSS document>", "CreateSnapshots <instance>". */
  timeline: string[];
}

/** Makes the error response of a failed call (the server's own error type). */
export type Fail = (code: string, message: string) => Error;

/** The documents the member role may send (infra/member-account-role.ts) and the tag SendCommand needs on the instance. */
const VSS_DOCUMENT = 'AWSEC2-CreateVssSnapshot';
const DOCUMENTS = new Set(['AWS-RunShellScript', 'AWS-RunPowerShellScript', VSS_DOCUMENT]);
const SCRIPTS_TAG = 'cloudkeep:backup';

let counter = 0;
let snapshotCounter = 0xf0000000;

/** The VSS document's tags parameter, "Key=k,Value=v;Key=k2,Value=v2", plus the Name tag it always adds. */
function parseVssTags(text: string, fail: Fail): Record<string, string> {
  const tags: Record<string, string> = { Name: '' };
  for (const pair of text.split(';').filter(Boolean)) {
    const m = /^Key=([^,]+),Value=(.*)$/.exec(pair);
    if (!m) throw fail('InvalidParameters', `tags: expected Key=k,Value=v pairs separated by ';', got ${JSON.stringify(pair)}`);
    tags[m[1]] = m[2];
  }
  return tags;
}

/** Snapshots every volume of the instance (ExcludeBootVolume False), tagged like the document does. */
function vssSnapshot(state: FakeSsmState, instance: FakeSsmState['instances'][number], params: Record<string, string[]>, fail: Fail): void {
  const tags = { ...parseVssTags(params.tags?.[0] ?? '', fail), AppConsistent: 'true' };
  const volumes = (instance.volumeIds ?? []).slice(params.ExcludeBootVolume?.[0] === 'True' ? 1 : 0);
  state.snapshots.push(...volumes.map((volumeId, n) => ({
    id: `snap-${(++snapshotCounter).toString(16)}`, region: instance.region, volumeId, state: 'pending' as const, startTime: Date.now(), tags: { ...tags, Device: `xvd${'abcdefgh'[n]}` }, checks: 0, sizeGiB: instance.volumeSizeGiB ?? 8,
  })));
}

function sendCommand(state: FakeSsmState, req: Record<string, unknown>, region: string, fail: Fail) {
  const document = String(req.DocumentName ?? '');
  if (!DOCUMENTS.has(document)) throw fail('AccessDeniedException', `not authorized to perform ssm:SendCommand on document/${document}`);
  const ids = (req.InstanceIds as string[] | undefined) ?? [];
  if (ids.length !== 1) throw fail('ValidationException', `expected exactly one instance id, got ${ids.length}`);
  const instance = state.instances.find((i) => i.id === ids[0] && i.region === region);
  if (!instance) throw fail('InvalidInstanceId', `Instances [[${ids[0]}]] not in a valid state for account`);
  if (!(SCRIPTS_TAG in instance.tags)) throw fail('AccessDeniedException', `not authorized to perform ssm:SendCommand on instance/${instance.id} (no ${SCRIPTS_TAG} tag)`);
  const params = (req.Parameters ?? {}) as Record<string, string[]>;
  const script = document === VSS_DOCUMENT ? VSS_DOCUMENT : (params.commands ?? []).join('\n');
  const command: FakeCommand = {
    id: `cmd-${(++counter).toString(16).padStart(8, '0')}`, region, instanceId: instance.id, document, script, comment: req.Comment as string | undefined,
    timeoutSeconds: req.TimeoutSeconds as number | undefined, executionTimeout: params.executionTimeout?.[0], parameters: params, outcome: state.scriptOutcome(instance.id, script), checks: 0,
  };
  state.commands.push(command);
  state.timeline.push(`SendCommand ${instance.id} ${script}`);
  if (document === VSS_DOCUMENT && command.outcome.status === 'Success') vssSnapshot(state, instance, params, fail);
  return { Command: { CommandId: command.id, DocumentName: document, InstanceIds: [instance.id], Comment: command.comment, Status: 'Pending', RequestedDateTime: Date.now() / 1000 } };
}

function getCommandInvocation(state: FakeSsmState, req: Record<string, unknown>, region: string, fail: Fail) {
  const command = state.commands.find((c) => c.id === req.CommandId && c.instanceId === req.InstanceId && c.region === region);
  if (!command || command.checks++ < (command.outcome.unknownChecks ?? 0)) throw fail('InvocationDoesNotExist', '');
  const { status, stdout = '', stderr = '' } = command.outcome;
  const finished = status !== 'InProgress';
  return {
    CommandId: command.id, InstanceId: command.instanceId, DocumentName: command.document, Status: status, StatusDetails: status,
    ResponseCode: status === 'Success' ? 0 : finished ? 1 : -1, StandardOutputContent: finished ? stdout : '', StandardErrorContent: finished ? stderr : '',
  };
}

/** Runs one AmazonSSM.<action>; the JSON response body. */
export function ssm(state: FakeSsmState, action: string, body: string, region: string, fail: Fail): string {
  const req = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
  if (action === 'SendCommand') return JSON.stringify(sendCommand(state, req, region, fail));
  if (action === 'GetCommandInvocation') return JSON.stringify(getCommandInvocation(state, req, region, fail));
  throw fail('InvalidAction', `fake SSM does not implement ${action}`);
}
