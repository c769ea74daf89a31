// The SSM Run Command part of the fake cloud: SendCommand and GetCommandInvocation over the JSON 1.1 protocol (x-amz-target AmazonSSM.*).

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
  outcome: FakeScriptOutcome;
  checks: number;
}

export interface FakeSsmState {
  instances: { id: string; region: string; tags: Record<string, string> }[];
  commands: FakeCommand[];
  /** The outcome of a script on an instance; default Success. */
  scriptOutcome: (instanceId: string, script: string) => FakeScriptOutcome;
  /** Per-resource order of SendCommand and CreateSnapshots: "SendCommand <instance> <script>", "CreateSnapshots <instance>". */
  timeline: string[];
}

/** Makes the error response of a failed call (the server's own error type). */
export type Fail = (code: string, message: string) => Error;

/** The documents the member role may send (infra/member-account-role.ts) and the tag SendCommand needs on the instance. */
const DOCUMENTS = new Set(['AWS-RunShellScript', 'AWS-RunPowerShellScript']);
const SCRIPTS_TAG = 'cloudkeep:backup';

let counter = 0;

function sendCommand(state: FakeSsmState, req: Record<string, unknown>, region: string, fail: Fail) {
  const document = String(req.DocumentName ?? '');
  if (!DOCUMENTS.has(document)) throw fail('AccessDeniedException', `not authorized to perform ssm:SendCommand on document/${document}`);
  const ids = (req.InstanceIds as string[] | undefined) ?? [];
  if (ids.length !== 1) throw fail('ValidationException', `expected exactly one instance id, got ${ids.length}`);
  const instance = state.instances.find((i) => i.id === ids[0] && i.region === region);
  if (!instance) throw fail('InvalidInstanceId', `Instances [[${ids[0]}]] not in a valid state for account`);
  if (!(SCRIPTS_TAG in instance.tags)) throw fail('AccessDeniedException', `not authorized to perform ssm:SendCommand on instance/${instance.id} (no ${SCRIPTS_TAG} tag)`);
  const params = (req.Parameters ?? {}) as Record<string, string[]>;
  const script = (params.commands ?? []).join('\n');
  const command: FakeCommand = {
    id: `cmd-${(++counter).toString(16).padStart(8, '0')}`, region, instanceId: instance.id, document, script, comment: req.Comment as string | undefined,
    timeoutSeconds: req.TimeoutSeconds as number | undefined, executionTimeout: params.executionTimeout?.[0], outcome: state.scriptOutcome(instance.id, script), checks: 0,
  };
  state.commands.push(command);
  state.timeline.push(`SendCommand ${instance.id} ${script}`);
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
