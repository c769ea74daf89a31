// Test helpers for the CDK stacks: an App with cdk.json's feature flags, and a walk over IAM statements.
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';

const CDK_JSON = new URL('../../cdk.json', import.meta.url);

/** The feature flags the CLI would pass from cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context: Record<string, unknown> }).context;
}

/**
 * An App for unit tests: cdk.json flags and, unless asked, no built-in template validation (~6 s per
 * synth) and no Lambda bundling (esbuild per function; the validated synth bundles).
 */
export function testApp(options: { validate?: boolean; outdir?: string; bundle?: boolean } = {}): App {
  const bundle = options.bundle ?? options.validate ?? false;
  const context = { ...cdkJsonContext(), ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) };
  return new App({ context, builtinCloudFormationValidation: options.validate ?? false, outdir: options.outdir });
}

export interface IamStatement {
  readonly where: string;
  readonly Effect: string;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

const asArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every identity-policy statement in a template: IAM policies, managed policies and role inline policies. */
export function iamStatements(template: Template, templateName: string): IamStatement[] {
  const out: IamStatement[] = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, any> }>;
  for (const [logicalId, resource] of Object.entries(resources)) {
    const docs: [string, any][] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') docs.push(['', resource.Properties?.PolicyDocument]);
    if (resource.Type === 'AWS::IAM::Role') {
      for (const p of asArray(resource.Properties?.Policies) as any[]) docs.push([`:${p.PolicyName}`, p.PolicyDocument]);
    }
    for (const [suffix, doc] of docs) {
      for (const statement of asArray(doc?.Statement) as any[]) out.push({ where: `${templateName}/${logicalId}${suffix}`, ...statement });
    }
  }
  return out;
}

/** Actions of a statement as strings (CDK never puts tokens in actions). */
export function actionsOf(statement: IamStatement): string[] {
  return asArray(statement.Action).map(String);
}

export function resourcesOf(statement: IamStatement): unknown[] {
  return asArray(statement.Resource);
}

/** True for IAM actions that only read: Describe*, Get*, List*. */
export function isReadOnlyAction(action: string): boolean {
  const name = action.split(':')[1] ?? '';
  return /^(Describe|Get|List)/.test(name);
}
