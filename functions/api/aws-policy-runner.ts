// Run now in AWS: the session is opened here (so its id is answered at once), then the backup state machine
// runs with it (LoadPolicy takes the session over instead of opening one; a disabled policy still runs).
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { ControlStore } from '../../core/control/control-store.ts';
import type { PolicyRunner } from './ports.ts';

export interface SfnPolicyRunnerOptions {
  sfn: SFNClient;
  /** The cloudkeep-backup state machine. */
  stateMachineArn: string;
  store: ControlStore;
  /** Resources handled at once; absent: LoadPolicy's default. */
  maxConcurrency?: number;
}

export class SfnPolicyRunner implements PolicyRunner {
  private readonly o: SfnPolicyRunnerOptions;

  constructor(options: SfnPolicyRunnerOptions) {
    this.o = options;
  }

  /** Opens the session and starts the execution `run-<session id>`; a start that fails closes the session failed. */
  async runNow(account: string, policyId: string): Promise<{ sessionId: string }> {
    const acc = asAccountId(account);
    const session = await this.o.store.createSession(acc, asPolicyId(policyId));
    const input = { account, policyId, sessionId: session.id, ...(this.o.maxConcurrency ? { maxConcurrency: this.o.maxConcurrency } : {}) };
    try {
      await this.o.sfn.send(new StartExecutionCommand({ stateMachineArn: this.o.stateMachineArn, name: `run-${session.id}`, input: JSON.stringify(input) }));
    } catch (err) {
      await this.o.store.updateSession(acc, session.id, { status: 'failed', message: `the run could not be started: ${(err as Error).name ?? 'Error'}` }).catch(() => undefined);
      throw err;
    }
    return { sessionId: session.id };
  }
}
