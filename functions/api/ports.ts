// Ports the API's handlers call besides the control store and the repository: what exists in an
// account, running a policy now, and the snapshots Cloudkeep made. The local control plane
// (cli/) and the AWS deployment (functions/) each provide adapters.
import type { SnapshotInfo, SnapshotTarget } from '../../core/orchestration/ports.ts';
import type { DiscoveredResource } from '../../core/policy/plan.ts';

/** The resources of an account in every region the deployment covers (plans, dashboard, unprotected resources). */
export interface Inventory {
  resources(account: string): Promise<DiscoveredResource[]>;
}

/** Starts one run of a stored policy now; resolves once its session exists (the run goes on in the background). */
export interface PolicyRunner {
  runNow(account: string, policyId: string): Promise<{ sessionId: string }>;
}

/** The snapshots Cloudkeep made of a resource (the restore-points timeline shows them next to restore points). */
export interface SnapshotCatalog {
  list(account: string, target: SnapshotTarget): Promise<SnapshotInfo[]>;
}
