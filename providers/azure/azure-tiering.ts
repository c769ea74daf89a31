// Azure access tiers as storage tiers: Archive for packs only, minimum durations, Get Blob Properties and Set Blob Tier mapping.
import type { BlobClient, BlobGetPropertiesResponse } from '@azure/storage-blob';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { ObjectKind, RehydrateOptions, RehydratePriority, TierState } from '../../core/store/object-store.ts';

export type AzureAccessTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';
/** Where a rehydrated blob goes: Azure moves the blob itself out of Archive (no temporary copy as on S3). */
export type AzureRehydrateTier = 'Hot' | 'Cool';

export const AZURE_TIERS: readonly AzureAccessTier[] = ['Hot', 'Cool', 'Cold', 'Archive'];
/** Days Azure bills at least per tier (deleting or moving earlier is charged the rest); Hot has none. */
export const AZURE_MINIMUM_DURATION_DAYS: Readonly<Record<string, number>> = { Cool: 30, Cold: 90, Archive: 180 };
const PRIORITIES: Record<RehydratePriority, 'Standard' | 'High'> = { standard: 'Standard', bulk: 'Standard', expedited: 'High' };

/** Checks tiers per kind: known names, and Archive only for packs (everything else must be readable at once). */
export function checkAccessTiers(tiers: Partial<Record<ObjectKind, AzureAccessTier>> | undefined): Partial<Record<ObjectKind, AzureAccessTier>> {
  const out = { ...tiers };
  for (const [kind, tier] of Object.entries(out)) {
    if (!AZURE_TIERS.includes(tier)) throw new InvalidArgumentError(`access tier ${JSON.stringify(tier)} for ${kind} objects: expected Hot, Cool, Cold or Archive`);
    if (tier === 'Archive' && kind !== 'pack') {
      throw new InvalidArgumentError(`access tier Archive for ${kind} objects: Archive is for packs only; config, keys, indexes, manifests and markers must stay readable at once (use tier.pack=Archive)`);
    }
  }
  return out;
}

/** The tier state from Get Blob Properties: x-ms-access-tier and x-ms-archive-status (rehydrate-pending-to-...). */
export function tierFromProperties(props: Pick<BlobGetPropertiesResponse, 'accessTier' | 'archiveStatus'>): TierState {
  const tier = props.accessTier ?? 'Hot';
  const rehydrating = (props.archiveStatus ?? '').startsWith('rehydrate-pending');
  return { tier, archived: tier === 'Archive', rehydrating, minimumDurationDays: AZURE_MINIMUM_DURATION_DAYS[tier] ?? 0 };
}

/** Set Blob Tier out of Archive with a rehydrate priority; the caller checked the blob is archived and idle. */
export async function setRehydrateTier(client: BlobClient, target: AzureRehydrateTier, options: RehydrateOptions): Promise<void> {
  await client.setAccessTier(target, { rehydratePriority: PRIORITIES[options.priority], abortSignal: options.signal });
}
