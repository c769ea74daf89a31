// Checks across fields of a policy (provider vs ids, types, regions; worker layout), on the raw input.
import type { PolicyProblem } from './policy-issues.ts';
import { AWS_REGION, AZURE_LOCATION, PROVIDER_RESOURCE_TYPES, RESOURCE_TYPES, type Provider } from './vocabulary.ts';

// These run on the raw input, not on zod's output, so that a policy with a structural problem
// still gets every cross-field problem reported in the same run (zod skips refinements then).

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const AWS_SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const ROLE_ACCOUNT = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):role\//;

function regionProblem(provider: Provider | undefined, region: string): string | undefined {
  if (provider === 'aws' && !AWS_REGION.test(region)) return `${JSON.stringify(region)} is not an AWS region; expected a name such as eu-west-1 or us-east-2`;
  if (provider === 'azure' && !AZURE_LOCATION.test(region)) return `${JSON.stringify(region)} is not an Azure location; expected a name such as westeurope or eastus2`;
  if (!provider && !AWS_REGION.test(region) && !AZURE_LOCATION.test(region)) return `${JSON.stringify(region)} is not a region name`;
  return undefined;
}

export function crossCheckPolicy(input: unknown, file: string): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const add = (path: string, message: string) => problems.push({ file, path, message });
  if (!isObj(input)) return problems;
  const account = isObj(input.account) ? input.account : {};
  const provider = account.provider === 'aws' || account.provider === 'azure' ? (account.provider as Provider) : undefined;

  if (provider === 'aws' && typeof account.id === 'string' && typeof account.roleArn === 'string') {
    const roleAccount = ROLE_ACCOUNT.exec(account.roleArn)?.[1];
    if (roleAccount && roleAccount !== account.id) {
      add('account.roleArn', `${JSON.stringify(account.roleArn)} is a role of account ${roleAccount}; expected a role of the policy's account ${account.id}`);
    }
  }

  const regions = strings(input.regions);
  regions.forEach((region, i) => {
    const problem = regionProblem(provider, region);
    if (problem) add(`regions[${i}]`, problem);
    if (regions.indexOf(region) !== i) add(`regions[${i}]`, `${JSON.stringify(region)} is listed twice`);
  });

  const selection = isObj(input.selection) ? input.selection : {};
  if (provider) {
    strings(selection.resourceTypes).forEach((type, i) => {
      if ((RESOURCE_TYPES as readonly string[]).includes(type) && !(PROVIDER_RESOURCE_TYPES[provider] as readonly string[]).includes(type)) {
        add(`selection.resourceTypes[${i}]`, `${JSON.stringify(type)} is not a resource type of provider ${provider}; expected one of ${PROVIDER_RESOURCE_TYPES[provider].join(', ')}`);
      }
    });
  }
  const ids = strings(selection.ids);
  strings(selection.excludeIds).forEach((id, i) => {
    if (ids.includes(id)) add(`selection.excludeIds[${i}]`, `${JSON.stringify(id)} is also in selection.ids; expected a resource to be either selected or excluded`);
  });

  if (input.snapshots === undefined && input.backup === undefined) {
    add('', 'the policy neither takes snapshots nor backs up; expected a snapshots section, a backup section, or both');
  }

  if (isObj(input.worker)) checkWorker(input.worker, regions, provider, add);
  if (provider === 'aws' && isObj(input.tags)) {
    for (const key of Object.keys(input.tags)) {
      if (key.toLowerCase().startsWith('aws:')) add(`tags.${key}`, `tag keys starting with "aws:" are reserved by AWS; expected another key`);
    }
  }
  return problems;
}

function checkWorker(worker: Obj, regions: string[], provider: Provider | undefined, add: (path: string, message: string) => void): void {
  if (Array.isArray(worker.instanceSize)) {
    let previous = -Infinity;
    worker.instanceSize.forEach((entry: unknown, i) => {
      const size = isObj(entry) ? entry.upToGiB : undefined;
      if (typeof size !== 'number') return;
      if (size <= previous) {
        add(`worker.instanceSize[${i}].upToGiB`, `${size} does not follow ${previous}; expected entries ordered by strictly increasing upToGiB`);
      }
      previous = Math.max(previous, size);
    });
  }
  if (isObj(worker.subnets)) {
    for (const [region, subnets] of Object.entries(worker.subnets)) {
      if (!regions.includes(region)) {
        add(`worker.subnets.${region}`, `${JSON.stringify(region)} is not one of the policy's regions (${regions.join(', ')})`);
      }
      if (provider === 'aws') {
        strings(subnets).forEach((subnet, i) => {
          if (!AWS_SUBNET.test(subnet)) add(`worker.subnets.${region}[${i}]`, `${JSON.stringify(subnet)} is not an AWS subnet id; expected subnet-<hex>, e.g. subnet-0a1b2c3d`);
        });
      }
    }
  }
}
