// The restore handlers' EC2 adapters: the control plane's own account, and the target account through its member role.
import type { RestoreTargets } from '../../core/orchestration/restore-ports.ts';
import type { RestoreTargetRef } from '../../core/orchestration/restore-types.ts';
import type { AwsAdapterOptions } from '../../providers/aws/aws-call.ts';
import { AwsRestoreTarget } from '../../providers/aws/aws-restore-target.ts';
import { deps, ENV } from './composition.ts';

let own: AwsRestoreTarget | undefined;

function adapterOptions(env: NodeJS.ProcessEnv): AwsAdapterOptions {
  return { endpoints: { ec2: env[ENV.ec2Endpoint] }, maxAttempts: env[ENV.maxAttempts] ? Number(env[ENV.maxAttempts]) : undefined };
}

/** The own-account adapter, and the target's: the same one, or one with the member role's credentials. */
export async function restoreTargets(target: RestoreTargetRef, restoreId: string, env: NodeJS.ProcessEnv = process.env): Promise<RestoreTargets> {
  own ??= new AwsRestoreTarget(undefined, adapterOptions(env));
  if (!target.roleArn) return { own, target: own };
  const credentials = await deps().roles.assume(target.roleArn, `cloudkeep-restore-${restoreId}`);
  return { own, target: new AwsRestoreTarget(credentials, adapterOptions(env)) };
}
