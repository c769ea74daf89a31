// `scaleout:/path/to/extents.json`: a scale-out repository described by a file of extent URLs.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/errors.ts';
import type { ObjectStore } from '../core/store/object-store.ts';
import { ScaleOutObjectStore } from '../core/store/scale-out-store.ts';
import { parseSize } from '../core/util/units.ts';

const ConfigSchema = z.strictObject({
  policy: z.enum(['data-locality', 'performance']),
  extents: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
        url: z.string().min(1),
        maintenance: z.boolean().optional(),
        capacity: z.string().optional(),
        maxTasks: z.number().int().positive().optional(),
      }),
    )
    .min(1),
});

/** Builds the scale-out store; `open` turns each extent URL into its store (never another scale-out). */
export async function scaleOutFromFile(path: string, open: (url: string) => Promise<ObjectStore>): Promise<ScaleOutObjectStore> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`cannot read scale-out description ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) throw new InvalidArgumentError(`scale-out description ${path}: ${z.prettifyError(parsed.error)}`);
  const extents = [];
  for (const e of parsed.data.extents) {
    if (e.url.startsWith('scaleout:')) throw new InvalidArgumentError(`extent ${e.id}: a scale-out extent cannot itself be a scale-out repository`);
    extents.push({ id: e.id, store: await open(e.url), maintenance: e.maintenance, capacityBytes: e.capacity ? parseSize(e.capacity, `extent ${e.id} capacity`) : undefined, maxTasks: e.maxTasks });
  }
  return new ScaleOutObjectStore({ extents, policy: parsed.data.policy });
}
