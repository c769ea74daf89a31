// Lambda ReleaseRestoreSlot: the restore worker reported, so it gives back the account's worker slot it held.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { releaseRestoreSlot } from '../core/orchestration/restore-start.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';

const input = z.object({ restoreId: z.string().min(1), account: z.string().min(1) });

export const handler = (event: unknown, context?: Context) =>
  handle('ReleaseRestoreSlot', input, event, context, async ({ restoreId, account }) => {
    await releaseRestoreSlot(deps().store, account, restoreId);
    return { released: restoreId };
  });
