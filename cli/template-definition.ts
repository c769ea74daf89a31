// A state machine's definition out of a synthesized CloudFormation template, its intrinsics resolved to
// placeholder ARNs: local runs and tests map Task states by name, so the ARNs only need to be well-formed.

export interface Placeholders {
  account: string;
  region: string;
  stackName: string;
  /** The service part of ARNs of resources other than Lambda functions, e.g. "local" or "fake". */
  service: string;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** A placeholder ARN for a resource's attribute; Lambda functions get function ARNs named after their logical id. */
export function placeholderArn(logicalId: string, type: string | undefined, p: Placeholders): string {
  if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${p.region}:${p.account}:function:${logicalId}`;
  return `arn:aws:${p.service}:${p.region}:${p.account}:${logicalId}`;
}

/** Resolves Fn::Join, Fn::GetAtt and Ref against `resources` (logical id -> type); throws on any other intrinsic. */
export function resolveIntrinsics(value: unknown, resources: Record<string, { Type: string }>, p: Placeholders): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, resources, p));
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveIntrinsics(part, resources, p)).join(sep);
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const [id] = obj['Fn::GetAtt'] as [string, string];
    return placeholderArn(id, resources[id]?.Type, p);
  }
  if (keys.length === 1 && keys[0] === 'Ref') {
    const ref = obj.Ref as string;
    const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': p.region, 'AWS::AccountId': p.account, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': p.stackName };
    return pseudo[ref] ?? placeholderArn(ref, resources[ref]?.Type, p);
  }
  if (keys.some((k) => k.startsWith('Fn::'))) throw new Error(`unsupported intrinsic ${keys.join(', ')} in the state machine definition`);
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(obj[k], resources, p)]));
}

/** The parsed, resolved definition of the state machine named `name` in `template`. */
export function stateMachineDefinition(template: { Resources: Resources }, name: string, p: Placeholders): Record<string, unknown> {
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties?.StateMachineName === name);
  if (machines.length !== 1) throw new Error(`expected one state machine named ${name} in the template, found ${machines.length}`);
  const text = resolveIntrinsics(machines[0].Properties?.DefinitionString, template.Resources, p);
  if (typeof text !== 'string') throw new Error('DefinitionString did not resolve to a string');
  return JSON.parse(text) as Record<string, unknown>;
}
