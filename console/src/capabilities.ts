// GET /capabilities: what this server offers; a server without the endpoint is a local one of before it.
import { ApiError } from './api.ts';
import { LOCAL_CAPABILITIES, type Capabilities } from './restore-kinds.ts';
import { useApi } from './use-api.ts';

/** The capabilities once known (undefined while loading); a server that does not offer them counts as local. */
export function useCapabilities(): { caps: Capabilities | undefined; error: unknown } {
  const state = useApi<Capabilities>('/capabilities');
  if (state.data) return { caps: state.data, error: undefined };
  if (state.error instanceof ApiError && state.error.unavailable) return { caps: LOCAL_CAPABILITIES, error: undefined };
  return { caps: state.error === undefined ? undefined : LOCAL_CAPABILITIES, error: state.error };
}
