// RoleAssumer on STS: AssumeRole into a member account's Cloudkeep role with the deployment's ExternalId.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { CloudCallError } from '../../core/orchestration/errors.ts';
import type { MemberCredentials, RoleAssumer } from '../../core/orchestration/ports.ts';
import { awsCall, clientConfig, type AwsAdapterOptions } from './aws-call.ts';

export interface AwsRoleAssumerOptions extends AwsAdapterOptions {
  /** Region of the STS endpoint (regional endpoints). */
  region: string;
  /** The ExternalId the member role's trust policy requires. */
  externalId: string;
  /** @default 3600 */
  durationSeconds?: number;
}

export class AwsRoleAssumer implements RoleAssumer {
  private readonly sts: STSClient;
  private readonly options: AwsRoleAssumerOptions;
  constructor(options: AwsRoleAssumerOptions) {
    this.options = options;
    this.sts = new STSClient(clientConfig(options.region, undefined, options.endpoints?.sts, options));
  }

  async assume(roleArn: string, sessionName: string): Promise<MemberCredentials> {
    const out = await awsCall(`AssumeRole ${roleArn}`, () =>
      this.sts.send(new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName.replace(/[^\w+=,.@-]/g, '-').slice(0, 64),
        ExternalId: this.options.externalId,
        DurationSeconds: this.options.durationSeconds ?? 3600,
      })),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new CloudCallError(`AssumeRole ${roleArn} returned no credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration?.getTime() ?? 0 };
  }
}
