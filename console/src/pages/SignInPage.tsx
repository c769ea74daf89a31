// The AWS login page: sign in through the Cognito hosted UI (password and authenticator code there).
import { Alert, Button, Center, Paper, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { startSignIn } from '../auth/cognito.ts';
import type { ConsoleConfig } from '../auth/config.ts';
import { errorText } from '../components/ApiNotice.tsx';

export type SignedOutReason = 'expired' | 'rejected' | null;

const NOTICES: Record<Exclude<SignedOutReason, null>, string> = {
  expired: 'Your sign-in expired: sign in again to go on.',
  rejected: 'The server did not accept your sign-in (it expired or was revoked, or your user has no accounts): sign in again.',
};

export function SignInPage({ config, reason, error }: { config: ConsoleConfig; reason: SignedOutReason; error: string | null }) {
  const [busy, setBusy] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const signIn = () => {
    setBusy(true);
    startSignIn(config).catch((err: unknown) => {
      setBusy(false);
      setStartError(errorText(err));
    });
  };
  const problem = startError ?? error;
  return (
    <Center h="100vh">
      <Paper withBorder p="xl" w={440} data-testid="signin-page">
        <Stack>
          <Title order={3}>Cloudkeep console</Title>
          <Text size="sm" c="dimmed">
            Sign in with your Cloudkeep user on the sign-in page of this deployment (email, password and authenticator app code).
          </Text>
          {reason && <Alert color={reason === 'expired' ? 'yellow' : 'red'} data-testid={`signin-${reason}`}>{NOTICES[reason]}</Alert>}
          {problem && <Alert color="red" title="Sign-in failed" data-testid="signin-error">{problem}</Alert>}
          <Button onClick={signIn} loading={busy} data-testid="signin-cognito">Sign in</Button>
        </Stack>
      </Paper>
    </Center>
  );
}
