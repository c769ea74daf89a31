// ScriptRunner on SSM Run Command: AWS-RunShellScript / AWS-RunPowerShellScript / AWSEC2-CreateVssSnapshot on one instance, GetCommandInvocation for the outcome.
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { InvalidArgumentError } from '../../core/errors.ts';
import { CloudCallError } from '../../core/orchestration/errors.ts';
import type { MemberCredentials, ScriptCommand, ScriptResult, ScriptRunner, VssSnapshotCommand } from '../../core/orchestration/ports.ts';
import { awsCall, clientConfig, perRegion, type AwsAdapterOptions } from './aws-call.ts';

/** The AWS-owned documents the member role may send (infra/member-account-role.ts). */
export const SCRIPT_DOCUMENTS = { linux: 'AWS-RunShellScript', windows: 'AWS-RunPowerShellScript' } as const;
export const VSS_DOCUMENT = 'AWSEC2-CreateVssSnapshot';

/** Tags AWSEC2-CreateVssSnapshot sets itself and rejects in its `tags` parameter. */
const VSS_RESERVED_TAGS = new Set(['Device', 'AppConsistent', 'AwsVssConfig']);

/** The document's `tags` parameter: "Key=k,Value=v;Key=k2,Value=v2" (no ',' or ';' inside keys or values). */
export function vssTagString(tags: Record<string, string>): string {
  return Object.entries(tags).map(([key, value]) => {
    if (VSS_RESERVED_TAGS.has(key)) throw new InvalidArgumentError(`snapshot tag ${JSON.stringify(key)} is reserved by ${VSS_DOCUMENT}; expected another tag key`);
    if (/[,;]/.test(key + value)) throw new InvalidArgumentError(`snapshot tag ${JSON.stringify(key)}=${JSON.stringify(value)} cannot be passed to ${VSS_DOCUMENT}; expected no ',' or ';' in tag keys and values`);
    return `Key=${key},Value=${value}`;
  }).join(';');
}

/** SendCommand's delivery timeout may not be below 30 s. */
const MIN_DELIVERY_TIMEOUT = 30;

const FINISHED_OK = new Set(['Success']);
const STILL_RUNNING = new Set(['Pending', 'InProgress', 'Delayed']);

function statusOf(status: string | undefined): ScriptResult['status'] {
  if (status && FINISHED_OK.has(status)) return 'success';
  return status === undefined || STILL_RUNNING.has(status) ? 'pending' : 'failed';
}

export class AwsScriptRunner implements ScriptRunner {
  private readonly ssm: (region: string) => SSMClient;

  /** `endpoint`: one SSM endpoint for every region (tests only; CLOUDKEEP_ENDPOINT_SSM). */
  constructor(credentials: MemberCredentials | undefined, options: AwsAdapterOptions = {}, endpoint?: string) {
    this.ssm = perRegion((region) => new SSMClient(clientConfig(region, credentials, endpoint, options)));
  }

  async send(c: ScriptCommand): Promise<{ commandId: string }> {
    // One command: the documents write it into one script file, so multi-line scripts keep their meaning.
    return this.sendDocument(c, SCRIPT_DOCUMENTS[c.platform], { commands: [c.script], executionTimeout: [String(c.timeoutSeconds)] });
  }

  async sendVssSnapshot(c: VssSnapshotCommand): Promise<{ commandId: string }> {
    const parameters = { ExcludeBootVolume: ['False'], description: [c.description], tags: [vssTagString(c.tags)], executionTimeout: [String(c.timeoutSeconds)] };
    return this.sendDocument(c, VSS_DOCUMENT, parameters);
  }

  private async sendDocument(c: { instanceId: string; region: string; timeoutSeconds: number; comment: string }, document: string, parameters: Record<string, string[]>): Promise<{ commandId: string }> {
    const out = await awsCall(`SendCommand (${c.comment} on ${c.instanceId} in ${c.region})`, () => this.ssm(c.region).send(new SendCommandCommand({
      DocumentName: document,
      InstanceIds: [c.instanceId],
      Parameters: parameters,
      TimeoutSeconds: Math.max(MIN_DELIVERY_TIMEOUT, c.timeoutSeconds),
      Comment: c.comment.slice(0, 100),
    })));
    const commandId = out.Command?.CommandId;
    if (!commandId) throw new CloudCallError(`SendCommand to ${c.instanceId} in ${c.region} returned no command id`);
    return { commandId };
  }

  async result(region: string, commandId: string, instanceId: string): Promise<ScriptResult> {
    try {
      const out = await this.ssm(region).send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      const status = statusOf(out.Status);
      const output = status === 'pending' ? undefined : out.StandardErrorContent || out.StandardOutputContent || undefined;
      const detail = out.StatusDetails ?? out.Status;
      return { status, ...(detail ? { detail } : {}), ...(output ? { output } : {}) };
    } catch (err) {
      // Right after SendCommand the invocation may not exist yet: still pending.
      if ((err as { name?: string }).name === 'InvocationDoesNotExist') return { status: 'pending', detail: 'InvocationDoesNotExist' };
      return awsCall(`GetCommandInvocation ${commandId} on ${instanceId} in ${region}`, () => Promise.reject(err));
    }
  }
}
