// The shapes the console reads from the API (docs/api/openapi.yaml; notes in the API contract).

export interface PolicyProblem {
  file: string;
  path: string;
  message: string;
}

export interface StoredPolicy {
  account: string;
  id: string;
  name: string;
  body: Record<string, unknown> & { enabled?: boolean };
  version: number;
  updatedAt: number;
}

export type SessionStatus = 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled';

export interface Session {
  account: string;
  id: string;
  policyId: string;
  status: SessionStatus;
  startedAt: number;
  endedAt: number | null;
  message: string | null;
  updatedAt: number;
}

export interface Task {
  resourceId: string;
  status: string;
  progress: { bytesDone: number; bytesTotal: number | null };
  sizes: { sourceBytes?: number; readBytes?: number; storedBytes?: number };
  bottleneck: string | null;
  /** Busy time per pipeline stage (ms), when the worker reports it. */
  stages?: Record<string, number>;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
}

export interface LogEntry {
  time: number;
  level: string;
  resourceId?: string;
  message: string;
}

export interface RestorePoint {
  id: string;
  resource: { id: string; kind: string; provider: string; account: string; region?: string };
  kind: 'full' | 'incremental';
  parent: string | null;
  /** ISO 8601, as in the manifest. */
  startedAt: string;
  finishedAt: string;
  size: number;
  storedBytes: number;
  disks: { name: string; size: number }[];
  tags: Record<string, string>;
  /** The restore kinds this point supports on this server (absent on servers of before them). */
  restoreKinds?: string[];
  chainPosition?: number;
  chainLength?: number;
  /** Lock and archive-tier state (timelines, on stores with Object Lock or storage tiers). */
  storage?: { lockedUntil: number | null; tiers: { packs: number; archived: number; rehydrating: number; complete: boolean } | null };
}

export interface Resource {
  provider: string;
  account: string;
  region: string;
  type: string;
  id: string;
  tags: Record<string, string>;
  policies: string[];
  protected: boolean;
  lastRestorePoint?: { id: string; finishedAt: number };
  rpo?: { promisedMs: number; ageMs: number | null; ok: boolean };
}

export interface Timeline {
  resourceId: string;
  snapshots: { id: string; volumeId?: string; status: string; startTime: number }[];
  restorePoints: RestorePoint[];
}

export interface RepositoryStatus {
  url: string;
  logicalBytes: number;
  storedBytes: number;
  /** logical / stored; null while nothing is stored. */
  reductionRatio: number | null;
  restorePoints: number;
  lastVerify: { at: number; ok: boolean; problems: unknown } | null;
}

export interface Overview {
  protectedCount: number;
  unprotectedCount: number;
  rpoViolations: { resourceId: string; ageMs: number | null; promisedMs: number }[];
  lastSessions: { policyId: string; session: Session | null }[];
  repository: RepositoryStatus | null;
}

export interface PlanResult {
  valid: boolean;
  problems: PolicyProblem[];
  plan?: {
    selected: { id: string; type?: string; region?: string; tags?: Record<string, string> }[];
    missingIds: string[];
    snapshots?: { schedule: string; timeZone: string; next: number[] };
    backup?: { schedule: string; timeZone: string; next: number[] };
  };
}

/** The API's restore jobs as JSON (functions/api/ports.ts, shared as types only); narrow on `kind`. */
export type { AwsRestoreJob, AwsRestoreResult, ImageRestoreJob, RestoreJob } from '../../functions/api/ports.ts';
