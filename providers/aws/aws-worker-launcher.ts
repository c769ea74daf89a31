// WorkerLauncher on EC2: RunInstances from the worker launch template, TerminateInstances, in the control-plane account.
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { CloudCallError } from '../../core/orchestration/errors.ts';
import type { WorkerLaunch, WorkerLauncher } from '../../core/orchestration/ports.ts';
import { awsCall, clientConfig, perRegion, tagList, type AwsAdapterOptions } from './aws-call.ts';

export interface AwsWorkerLauncherOptions extends AwsAdapterOptions {
  /** The launch template: an id (lt-…) or a name (the same name can exist in every worker region). */
  launchTemplate: string;
}

export class AwsWorkerLauncher implements WorkerLauncher {
  private readonly ec2: (region: string) => EC2Client;
  private readonly template: { LaunchTemplateId: string } | { LaunchTemplateName: string };

  /** Uses the handler's own credentials: workers run in the control-plane account. */
  constructor(options: AwsWorkerLauncherOptions) {
    this.ec2 = perRegion((region) => new EC2Client(clientConfig(region, undefined, options.endpoints?.ec2, options)));
    this.template = /^lt-[0-9a-f]+$/.test(options.launchTemplate) ? { LaunchTemplateId: options.launchTemplate } : { LaunchTemplateName: options.launchTemplate };
  }

  async launch(spec: WorkerLaunch): Promise<{ instanceId: string }> {
    const tags = tagList(spec.tags);
    const out = await awsCall(`RunInstances (worker ${spec.instanceType} in ${spec.subnetId}, ${spec.region})`, () =>
      this.ec2(spec.region).send(new RunInstancesCommand({
        LaunchTemplate: { ...this.template, Version: '$Default' },
        InstanceType: spec.instanceType as never,
        SubnetId: spec.subnetId,
        MinCount: 1,
        MaxCount: 1,
        UserData: spec.userData,
        ClientToken: spec.clientToken,
        ...(spec.spot ? { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } } } : {}),
        TagSpecifications: [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }],
      })));
    const instanceId = out.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new CloudCallError(`RunInstances in ${spec.region} returned no instance`, { retryable: false });
    return { instanceId };
  }

  async terminate(region: string, instanceId: string): Promise<void> {
    try {
      await awsCall(`TerminateInstances ${instanceId} in ${region}`, () => this.ec2(region).send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
    } catch (err) {
      if (/InvalidInstanceID\.NotFound/.test((err as Error).message)) return;
      throw err;
    }
  }
}
