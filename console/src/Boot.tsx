// Starts the console: reads /config.json (AWS: Cognito sign-in; absent: the local token login),
// completes a hosted-UI sign-in when the address is its answer, then renders the app.
import { Alert, Center, Loader } from '@mantine/core';
import { useEffect, useState } from 'react';
import { setApiBase, setToken } from './api.ts';
import { App } from './App.tsx';
import { completeSignIn } from './auth/cognito.ts';
import { loadConfig, type ConsoleConfig } from './auth/config.ts';
import { errorText } from './components/ApiNotice.tsx';

interface Booted {
  config: ConsoleConfig | null;
  /** Why sign-in did not complete, if it did not. */
  signInError: string | null;
}

/** A ?token=... in the address logs in (local mode only) and leaves the address (and history) without it. */
function takeTokenFromUrl(): void {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (!token) return;
  setToken(token);
  url.searchParams.delete('token');
  history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
}

async function boot(): Promise<Booted> {
  const config = await loadConfig();
  if (!config) {
    takeTokenFromUrl();
    return { config, signInError: null };
  }
  setApiBase(config.apiBase);
  try {
    const done = await completeSignIn(config);
    if (done) setToken(done.idToken);
    return { config, signInError: null };
  } catch (err) {
    return { config, signInError: errorText(err) };
  }
}

// Once per page load (a code can be exchanged only once, even when effects run twice in development).
let booting: Promise<Booted> | undefined;

export function Boot() {
  const [state, setState] = useState<Booted | { error: unknown } | null>(null);
  useEffect(() => {
    booting ??= boot();
    booting.then(setState, (error: unknown) => setState({ error }));
  }, []);
  if (state === null) return <Center h="100vh"><Loader data-testid="loading" /></Center>;
  if ('error' in state) {
    return (
      <Center h="100vh">
        <Alert color="red" title="The console cannot start" data-testid="boot-error" w={520}>{errorText(state.error)}</Alert>
      </Center>
    );
  }
  return <App config={state.config} signInError={state.signInError} />;
}
