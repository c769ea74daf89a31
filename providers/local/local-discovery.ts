// Discovery for the embedded default: the LocalVolumeProvider's volumes are 'ebs-volume' resources of one region.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResourceType } from '../../core/policy/vocabulary.ts';
import type { Discovery, FoundResource } from '../../core/orchestration/ports.ts';
import type { LocalVolumeProvider } from './local-volume-provider.ts';

/** The region local resources are found in (a policy lists it in `regions`); no real AWS region,
 * but AWS-shaped, since policies (provider aws) and worker task documents validate region names. */
export const LOCAL_REGION = 'us-local-1';

export interface LocalDiscoveryOptions {
  region?: string;
  /** Tags of a volume (local volumes carry none of their own); default none. */
  tagsOf?: (volumeId: string) => Record<string, string>;
}

export class LocalDiscovery implements Discovery {
  private readonly provider: LocalVolumeProvider;
  private readonly region: string;
  private readonly tagsOf: (volumeId: string) => Record<string, string>;

  constructor(provider: LocalVolumeProvider, options: LocalDiscoveryOptions = {}) {
    this.provider = provider;
    this.region = options.region ?? LOCAL_REGION;
    this.tagsOf = options.tagsOf ?? (() => ({}));
  }

  /** Every volume with an image file (volumes/<id>.img), sorted by id. */
  async volumeIds(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(join(this.provider.root, 'volumes'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.endsWith('.img')).map((n) => n.slice(0, -'.img'.length)).sort();
  }

  async list(region: string, types: readonly ResourceType[]): Promise<FoundResource[]> {
    if (region !== this.region || !types.includes('ebs-volume')) return [];
    const ids = await this.volumeIds();
    return ids.map((id) => ({ type: 'ebs-volume' as const, id, region, tags: this.tagsOf(id), volumeIds: [id] }));
  }
}
