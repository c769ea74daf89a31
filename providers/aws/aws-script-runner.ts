// ScriptRunner on SSM Run Command: AWS-RunShellScript / AWS-RunPowerShellScript on one instance, GetCommandInvocation for the outcome.
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CloudCallError } from '../../core/orchestration/errors.ts';
import type { MemberCredentials, ScriptCommand, ScriptResult, ScriptRunner } from '../../core/orchestration/ports.ts';
import { awsCall, clientConfig, perRegion, type AwsAdapterOptions } from './aws-call.ts';

/** The AWS-owned documents the member role may send (infra/member-account-role.ts). */
export const SCRIPT_DOCUMENTS = { linux: 'AWS-RunShellScript', windows: 'AWS-RunPowerShellScript' } as const;

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
    const out = await awsCall(`SendCommand (${c.comment} on ${c.instanceId} in ${c.region})`, () => this.ssm(c.region).send(new SendCommandCommand({
      DocumentName: SCRIPT_DOCUMENTS[c.platform],
      InstanceIds: [c.instanceId],
      // One command: the documents write it into one script file, so multi-line scripts keep their meaning.
      Parameters: { commands: [c.script], executionTimeout: [String(c.timeoutSeconds)] },
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
