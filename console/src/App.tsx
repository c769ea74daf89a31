// The console shell: login gate (local token, or Cognito sign-in with expiry), account picker, navbar, and the page for the current route.
import { AppShell, Burger, Button, Group, NavLink, Select, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useEffect, useState } from 'react';
import { getToken, onUnauthorized, setToken } from './api.ts';
import { signOut } from './auth/cognito.ts';
import type { ConsoleConfig } from './auth/config.ts';
import { isExpired, userName } from './auth/token.ts';
import { useExpiry } from './auth/use-expiry.ts';
import { ErrorAlert, Loaded } from './components/ApiNotice.tsx';
import { DashboardPage } from './pages/DashboardPage.tsx';
import { LoginPage } from './pages/LoginPage.tsx';
import { PoliciesPage } from './pages/PoliciesPage.tsx';
import { PolicyEditorPage } from './pages/PolicyEditorPage.tsx';
import { RestorePointsPage } from './pages/RestorePointsPage.tsx';
import { RestoreWizardPage } from './pages/RestoreWizardPage.tsx';
import { SessionPage } from './pages/SessionPage.tsx';
import { SignInPage, type SignedOutReason } from './pages/SignInPage.tsx';
import { match, navigate, useLocation, type Location } from './router.ts';
import { useApi } from './use-api.ts';

const ACCOUNT_KEY = 'cloudkeep.account';

const NAV = [
  { to: '/', label: 'Dashboard', testId: 'nav-dashboard' },
  { to: '/policies', label: 'Policies', testId: 'nav-policies' },
  { to: '/restore-points', label: 'Restore points', testId: 'nav-restore-points' },
  { to: '/restore', label: 'Restore', testId: 'nav-restore' },
];

function Page({ loc, account, region }: { loc: Location; account: string; region: string }) {
  let m: Record<string, string> | null;
  if (loc.path === '/' || loc.path === '') return <DashboardPage account={account} />;
  if (match('/policies', loc.path)) return <PoliciesPage account={account} />;
  if (match('/policies/new', loc.path)) return <PolicyEditorPage account={account} policyId={null} />;
  if ((m = match('/policies/:id', loc.path))) return <PolicyEditorPage key={m.id} account={account} policyId={m.id} saved={loc.query.get('saved')} />;
  if ((m = match('/sessions/:id', loc.path))) return <SessionPage key={m.id} account={account} sessionId={m.id} />;
  if (match('/restore-points', loc.path)) return <RestorePointsPage account={account} resourceId={loc.query.get('resource')} />;
  if (match('/restore', loc.path)) return <RestoreWizardPage account={account} pointId={loc.query.get('point')} jobId={loc.query.get('job')} region={region} />;
  return <ErrorAlert error={new Error(`no page ${loc.path}`)} what="Navigation" />;
}

/** The stored token, unless a Cognito ID token in it has expired meanwhile. */
function storedToken(config: ConsoleConfig | null): { token: string | null; reason: SignedOutReason } {
  const token = getToken();
  if (config && token && isExpired(token, Date.now())) {
    setToken(null);
    return { token: null, reason: 'expired' };
  }
  return { token, reason: null };
}

export function App({ config, signInError }: { config: ConsoleConfig | null; signInError: string | null }) {
  const [initial] = useState(() => storedToken(config));
  const [token, setTokenState] = useState(initial.token);
  const [reason, setReason] = useState<SignedOutReason>(initial.reason);
  const loc = useLocation();
  const [opened, { toggle }] = useDisclosure();
  const [account, setAccount] = useState<string | null>(() => sessionStorage.getItem(ACCOUNT_KEY));
  const accounts = useApi<{ accounts: { id: string }[] }>(token ? '/accounts' : null);

  useEffect(
    () =>
      onUnauthorized(() => {
        setToken(null);
        setTokenState(null);
        setReason('rejected');
      }),
    [],
  );
  useExpiry(config ? token : null, () => {
    setToken(null);
    setTokenState(null);
    setReason('expired');
  });

  const ids = accounts.data?.accounts.map((a) => a.id) ?? [];
  const selected = account && ids.includes(account) ? account : ids[0] ?? null;
  useEffect(() => {
    if (selected) sessionStorage.setItem(ACCOUNT_KEY, selected);
  }, [selected]);

  if (!token) {
    if (config) return <SignInPage config={config} reason={reason} error={signInError} />;
    const login = (t: string) => {
      setToken(t);
      setTokenState(t);
      setReason(null);
    };
    return <LoginPage onLogin={login} rejected={reason === 'rejected'} />;
  }

  const logout = () => {
    setToken(null);
    setTokenState(null);
    if (config) signOut(config);
    else navigate('/');
  };
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" />
            <Title order={4}>Cloudkeep</Title>
          </Group>
          <Group>
            {config && <Text size="sm" data-testid="signed-in-user">{userName(token)}</Text>}
            <Text size="sm" c="dimmed">Account</Text>
            <Select data-testid="account-picker" aria-label="Account" data={ids} value={selected} onChange={(v) => v && setAccount(v)} allowDeselect={false} w={180} />
            <Button variant="subtle" size="xs" onClick={logout} data-testid="logout">Log out</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {NAV.map((n) => (
          <NavLink
            key={n.to}
            href={n.to}
            label={n.label}
            data-testid={n.testId}
            active={loc.path === n.to || (n.to !== '/' && loc.path.startsWith(`${n.to}/`))}
            onClick={(e) => {
              e.preventDefault();
              navigate(n.to);
            }}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Loaded state={accounts} what="Loading accounts">
          {() => (selected ? <Page loc={loc} account={selected} region={config?.region ?? ''} /> : <ErrorAlert error={new Error('this token may access no account')} what="Accounts" />)}
        </Loaded>
      </AppShell.Main>
    </AppShell>
  );
}
