// useApi: loads a GET endpoint, optionally polls it, and exposes data, error and reload.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from './api.ts';

export interface ApiState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** `path` null: nothing to load yet. `pollMs(data)`: poll again after that many ms, or stop when undefined. */
export function useApi<T>(path: string | null, pollMs?: (data: T) => number | undefined): ApiState<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const poll = useRef(pollMs);
  poll.current = pollMs;

  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, [path]);

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setLoading(true);
    api<T>('GET', path, undefined, controller.signal).then(
      (result) => {
        setData(result);
        setError(undefined);
        setLoading(false);
        const next = poll.current?.(result);
        if (next !== undefined) timer = setTimeout(() => setTick((t) => t + 1), next);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [path, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
