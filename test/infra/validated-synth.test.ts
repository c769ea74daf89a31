// The one fully validated synth: built-in CloudFormation validation plus cdk-nag, as `cdk synth` runs them.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { testApp } from './cdk-test-app.ts';

it('the app synthesizes with built-in validation and cdk-nag on, without findings', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'cloudkeep-cdk-'));
  try {
    const app = testApp({ validate: true, outdir });
    buildCloudkeepApp(app, { env: { account: '111122223333', region: 'eu-west-1' }, objectLock: { mode: 'GOVERNANCE', days: 30 } });
    const assembly = app.synth(); // throws on any validation error
    assert.equal(assembly.stacks.length, 5);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { success?: boolean; violations?: unknown[] }[] };
    for (const plugin of report.pluginReports) assert.deepEqual(plugin.violations ?? [], [], JSON.stringify(plugin).slice(0, 2000));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
