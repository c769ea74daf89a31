// Shows a load error: a clear note when this server does not offer the endpoint yet, else the message.
import { Alert, Loader, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { ApiError } from '../api.ts';

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.message}${err.requestId ? ` (request ${err.requestId})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

export function ErrorAlert({ error, what, testId }: { error: unknown; what: string; testId?: string }) {
  if (error instanceof ApiError && error.unavailable) {
    return (
      <Alert color="yellow" title={`${what}: not available on this server yet`} data-testid={testId ?? 'api-unavailable'}>
        <Text size="sm">This server does not offer this endpoint yet ({error.message}). The rest of the console keeps working.</Text>
      </Alert>
    );
  }
  return (
    <Alert color="red" title={`${what} failed`} data-testid={testId ?? 'api-error'}>
      <Text size="sm">{errorText(error)}</Text>
    </Alert>
  );
}

/** Renders children(data) once loaded; a loader before; an alert on error. */
export function Loaded<T>({ state, what, children }: { state: { data: T | undefined; error: unknown }; what: string; children: (data: T) => ReactNode }) {
  if (state.error !== undefined && state.data === undefined) return <ErrorAlert error={state.error} what={what} />;
  if (state.data === undefined) return <Loader size="sm" data-testid="loading" />;
  return <>{children(state.data)}</>;
}
