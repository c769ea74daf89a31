// S3 storage classes as tiers: which classes are archives, their minimum storage durations, HeadObject and RestoreObject mapping.
import type { HeadObjectCommandOutput, RestoreObjectCommandInput, Tier } from '@aws-sdk/client-s3';
import type { RehydrateOptions, RehydratePriority, TierState } from '../../core/store/object-store.ts';

/** Days S3 bills at least per class (deleting or transitioning earlier is charged the rest); absent = none. */
export const S3_MINIMUM_DURATION_DAYS: Readonly<Record<string, number>> = {
  STANDARD_IA: 30,
  ONEZONE_IA: 30,
  GLACIER_IR: 90,
  GLACIER: 90,
  DEEP_ARCHIVE: 180,
};

/** Classes a GetObject cannot read until a RestoreObject has made a temporary copy. */
export const S3_ARCHIVE_CLASSES: readonly string[] = ['GLACIER', 'DEEP_ARCHIVE'];
/** Classes only packs may use: archives, and GLACIER_IR whose 90-day minimum and per-GB reads suit only bulk data. */
export const S3_PACK_ONLY_CLASSES: readonly string[] = ['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR'];

const S3_TIERS: Record<RehydratePriority, Tier> = { standard: 'Standard', bulk: 'Bulk', expedited: 'Expedited' };
/** RestoreObject answers that mean there is nothing to start. */
export const S3_REHYDRATE_NOOP_CODES = new Set(['RestoreAlreadyInProgress', 'ObjectAlreadyInActiveTierError']);

/** The tier state from a HeadObject answer: StorageClass (absent = STANDARD), Restore and ArchiveStatus headers. */
export function tierFromHead(out: Pick<HeadObjectCommandOutput, 'StorageClass' | 'Restore' | 'ArchiveStatus'>): TierState {
  const tier = out.StorageClass ?? 'STANDARD';
  // x-amz-restore: ongoing-request="true" while restoring; ongoing-request="false", expiry-date="..." once readable.
  const restore = out.Restore ?? '';
  const rehydrating = /ongoing-request="true"/.test(restore);
  const restored = /ongoing-request="false"/.test(restore);
  // Intelligent-Tiering's opt-in archive access tiers need a restore as well.
  const archivedTier = S3_ARCHIVE_CLASSES.includes(tier) || out.ArchiveStatus !== undefined;
  return { tier, archived: archivedTier && !restored, rehydrating, minimumDurationDays: S3_MINIMUM_DURATION_DAYS[tier] ?? 0 };
}

/** A RestoreObject request: a temporary copy for `days`, retrieved at the priority's tier. */
export function restoreInput(bucket: string, objectKey: string, options: RehydrateOptions): RestoreObjectCommandInput {
  if (!Number.isSafeInteger(options.days) || options.days < 1) throw new RangeError(`rehydrate days ${options.days}: expected a whole number >= 1`);
  return { Bucket: bucket, Key: objectKey, RestoreRequest: { Days: options.days, GlacierJobParameters: { Tier: S3_TIERS[options.priority] } } };
}
