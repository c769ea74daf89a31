// The POST /restores body (one shape per kind, `kind` defaulting to image) and which kinds a restore point offers.
import { z } from 'zod';
import { instanceConfigFromTags } from '../../core/orchestration/instance-config.ts';
import { RestoreRequestSchema } from '../../core/orchestration/restore-types.ts';
import { SNAPSHOT_TAGS } from '../../core/orchestration/run-types.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import { RESTORE_KINDS, type RestoreKind } from './ports.ts';

// The AWS kinds' fields validate as the restore state machine's own request does.
const aws = RestoreRequestSchema.shape;

const image = z.strictObject({ kind: z.literal('image'), pointId: z.string().min(1), disk: z.string().min(1).default('root'), targetPath: z.string().min(1) });
const snapshot = z.strictObject({ kind: z.literal('snapshot'), pointId: aws.pointId, disks: aws.disks, target: aws.target });
const ebsVolume = z.strictObject({ kind: z.literal('ebs-volume'), pointId: aws.pointId, disks: aws.disks, target: aws.target, volume: aws.volume.unwrap() });
const instance = z.strictObject({ kind: z.literal('instance'), pointId: aws.pointId, target: aws.target, instance: aws.instance });

const kindError = `expected one of ${RESTORE_KINDS.join(', ')} (default image)`;

/** A body without `kind` is an image restore, as before the AWS kinds existed. */
export const restoreBody = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'image' } : v),
  z.discriminatedUnion('kind', [image, snapshot, ebsVolume, instance], { error: (issue) => (issue.code === 'invalid_union' ? kindError : undefined) }),
);
export type RestoreBody = z.output<typeof restoreBody>;

/** The policy that made the point (its snapshots' and the manifest's cloudkeep:policy tag), if recorded. */
export const pointPolicyId = (m: Manifest): string | undefined => m.tags[SNAPSHOT_TAGS.policy] || undefined;

/** Whether the point records its instance's configuration (type, network, devices): only then can the instance be relaunched. */
function recordsInstance(m: Manifest): boolean {
  if (m.resource.kind !== 'instance') return false;
  try {
    instanceConfigFromTags(m.id, m.tags, m.disks.map((d) => d.volumeId));
    return true;
  } catch {
    return false;
  }
}

/** The kinds of `offered` (the server's) this point supports: the AWS kinds need its policy, instance its recorded configuration. */
export function restoreKindsOf(m: Manifest, offered: readonly RestoreKind[]): RestoreKind[] {
  return offered.filter((kind) => {
    if (kind === 'image') return true;
    if (!pointPolicyId(m)) return false;
    return kind !== 'instance' || recordsInstance(m);
  });
}
