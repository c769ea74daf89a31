// Takes a state machine's DefinitionString from a synthesized template and resolves its intrinsics to fake ARNs
// (the same resolver local runs use, cli/template-definition.ts, with fake placeholders).
import { placeholderArn, resolveIntrinsics as resolve, stateMachineDefinition as definitionOf, type Placeholders } from '../../cli/template-definition.ts';

export const FAKE_ACCOUNT = '111122223333';
export const FAKE_REGION = 'us-east-1';
const FAKE: Placeholders = { account: FAKE_ACCOUNT, region: FAKE_REGION, stackName: 'fake-stack', service: 'fake' };

/** A fake ARN for a resource's attribute; Lambda functions get function ARNs named after their logical id. */
export const fakeArn = (logicalId: string, type: string | undefined): string => placeholderArn(logicalId, type, FAKE);

/** Resolves Fn::Join, Fn::GetAtt and Ref against `resources` (logical id -> type); throws on anything else. */
export const resolveIntrinsics = (value: unknown, resources: Record<string, { Type: string }>): unknown => resolve(value, resources, FAKE);

/** The parsed, resolved definition of the state machine named `name` in `template` (default: the backup one). */
export function stateMachineDefinition(template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }, name = 'cloudkeep-backup'): Record<string, unknown> {
  return definitionOf(template, name, FAKE);
}
