// Takes a state machine's DefinitionString from a synthesized template and resolves its intrinsics to fake ARNs.

export const FAKE_ACCOUNT = '111122223333';
export const FAKE_REGION = 'us-east-1';

const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': FAKE_REGION, 'AWS::AccountId': FAKE_ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'fake-stack' };

/** A fake ARN for a resource's attribute; Lambda functions get function ARNs named after their logical id. */
export function fakeArn(logicalId: string, type: string | undefined): string {
  if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:${logicalId}`;
  return `arn:aws:fake:${FAKE_REGION}:${FAKE_ACCOUNT}:${logicalId}`;
}

/** Resolves Fn::Join, Fn::GetAtt and Ref against `resources` (logical id -> type); throws on anything else. */
export function resolveIntrinsics(value: unknown, resources: Record<string, { Type: string }>): unknown {
  if (typeof value === 'string' || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, resources));
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsics(p, resources)).join(sep);
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const [id] = obj['Fn::GetAtt'] as [string, string];
    return fakeArn(id, resources[id]?.Type);
  }
  if (keys.length === 1 && keys[0] === 'Ref') {
    const ref = obj.Ref as string;
    return PSEUDO[ref] ?? fakeArn(ref, resources[ref]?.Type);
  }
  if (keys.some((k) => k.startsWith('Fn::'))) throw new Error(`unsupported intrinsic ${keys.join(', ')}`);
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(obj[k], resources)]));
}

/** The parsed, resolved definition of the state machine named `name` in `template` (default: the backup one). */
export function stateMachineDefinition(template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }, name = 'cloudkeep-backup'): Record<string, unknown> {
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties?.StateMachineName === name);
  if (machines.length !== 1) throw new Error(`expected one state machine named ${name} in the template, found ${machines.length}`);
  const text = resolveIntrinsics(machines[0].Properties?.DefinitionString, template.Resources);
  if (typeof text !== 'string') throw new Error('DefinitionString did not resolve to a string');
  return JSON.parse(text) as Record<string, unknown>;
}
