// Lambda StartRestore: validates the restore request against the tenant's policies and returns the plan ($.restore).
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { startRestore } from '../core/orchestration/restore-start.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';

/** `restoreId` is the execution's name: every resource the restore creates is tagged with it. */
const input = z.object({ request: z.unknown(), restoreId: z.string().min(1).max(80) });

export const handler = (event: unknown, context?: Context) =>
  handle('StartRestore', input, event, context, ({ request, restoreId }) => startRestore(deps().store, request, restoreId));
