// Calls onExpired when the signed-in token reaches its expiry (exp claim, minus a small margin).
import { useEffect, useRef } from 'react';
import { msUntilExpiry } from './token.ts';

/** setTimeout takes at most a signed 32-bit delay. */
const MAX_DELAY = 2 ** 31 - 1;

export function useExpiry(token: string | null, onExpired: () => void): void {
  const callback = useRef(onExpired);
  callback.current = onExpired;
  useEffect(() => {
    if (!token) return;
    const timer = setTimeout(() => callback.current(), Math.min(MAX_DELAY, Math.max(0, msUntilExpiry(token, Date.now()))));
    return () => clearTimeout(timer);
  }, [token]);
}
