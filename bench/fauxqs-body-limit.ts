// Preloaded (--import) into the fauxqs child by bench/cloud.ts only: raises fauxqs's hard-coded 11 MiB request body limit,
// which is below the repository's 32 MiB packs (real S3 takes up to 5 GiB in one PutObject). Nothing else is changed.
import { registerHooks } from 'node:module';

const LIMIT = 'bodyLimit: 11 * 1_048_576';
const RAISED = `bodyLimit: ${Number(process.env.CLOUDKEEP_BENCH_FAUXQS_BODY_LIMIT ?? 1024 * 1_048_576)}`;

registerHooks({
  load(url, context, nextLoad) {
    const result = nextLoad(url, context);
    if (!url.endsWith('/fauxqs/dist/app.js')) return result;
    const source = Buffer.from(result.source as Uint8Array | string).toString('utf8');
    if (!source.includes(LIMIT)) throw new Error(`bench/fauxqs-body-limit.ts: "${LIMIT}" not found in ${url}; the fauxqs version changed, update the patch`);
    return { ...result, source: source.replace(LIMIT, RAISED) };
  },
});
