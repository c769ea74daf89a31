// The login page: asks for the API token (kept in sessionStorage for this tab only).
import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';

export function LoginPage({ onLogin, rejected }: { onLogin: (token: string) => void; rejected: boolean }) {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) onLogin(token.trim());
  };
  return (
    <Center h="100vh">
      <Paper withBorder p="xl" w={420} component="form" onSubmit={submit} data-testid="login-form">
        <Stack>
          <Title order={3}>Cloudkeep console</Title>
          <Text size="sm" c="dimmed">
            Paste the bearer token `cloudkeep serve` printed (or open the URL it printed). The token stays in this browser tab only.
          </Text>
          {rejected && (
            <Alert color="red" data-testid="login-rejected">
              The server rejected the token: check it and log in again.
            </Alert>
          )}
          <PasswordInput label="API token" value={token} onChange={(e) => setToken(e.currentTarget.value)} data-testid="login-token" autoFocus />
          <Button type="submit" disabled={!token.trim()} data-testid="login-submit">Log in</Button>
        </Stack>
      </Paper>
    </Center>
  );
}
