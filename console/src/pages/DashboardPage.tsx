// Dashboard: protection per account, last session per policy, RPO violations, repository usage.
import { Anchor, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { accountPath } from '../api.ts';
import { Loaded } from '../components/ApiNotice.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { bytes, duration, time } from '../format.ts';
import { navigate } from '../router.ts';
import type { Overview, RepositoryStatus, Session } from '../types.ts';
import { useApi } from '../use-api.ts';

function Stat({ label, value, testId, color }: { label: string; value: string | number; testId: string; color?: string }) {
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">{label}</Text>
      <Text size="xl" fw={700} c={color} data-testid={testId}>{value}</Text>
    </Card>
  );
}

function SessionLink({ session }: { session: Session }) {
  return (
    <Anchor href={`/sessions/${encodeURIComponent(session.id)}`} onClick={(e) => { e.preventDefault(); navigate(`/sessions/${encodeURIComponent(session.id)}`); }}>
      {time(session.startedAt)}
    </Anchor>
  );
}

function Repository({ repo }: { repo: RepositoryStatus | null }) {
  if (!repo) return <Text c="dimmed">No repository is configured on this server.</Text>;
  return (
    <Stack gap={4} data-testid="repository-usage">
      <Text size="sm" c="dimmed">{repo.url}</Text>
      <Text>Logical: <b data-testid="repo-logical">{bytes(repo.logicalBytes)}</b> · Stored: <b data-testid="repo-stored">{bytes(repo.storedBytes)}</b> · Reduction: <b data-testid="repo-ratio">{repo.reductionRatio === null ? '—' : `${repo.reductionRatio.toFixed(2)}×`}</b></Text>
      <Text size="sm">{repo.restorePoints} restore points · last verify: {repo.lastVerify ? `${time(repo.lastVerify.at)} ${repo.lastVerify.ok ? 'ok' : 'PROBLEMS'}` : 'never'}</Text>
    </Stack>
  );
}

function OverviewCards({ o }: { o: Overview }) {
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Stat label="Protected resources" value={o.protectedCount} testId="protected-count" color="green" />
        <Stat label="Unprotected resources" value={o.unprotectedCount} testId="unprotected-count" color={o.unprotectedCount ? 'orange' : undefined} />
        <Stat label="RPO violations" value={o.rpoViolations.length} testId="rpo-violation-count" color={o.rpoViolations.length ? 'red' : 'green'} />
      </SimpleGrid>
      {o.rpoViolations.length > 0 && (
        <Card withBorder data-testid="rpo-violations">
          <Title order={5}>RPO violations</Title>
          {o.rpoViolations.map((v) => (
            <Text key={v.resourceId} size="sm">
              {v.resourceId}: {v.ageMs === null ? 'no restore point yet' : `last restore point ${duration(v.ageMs)} old`}, promised every {duration(v.promisedMs)}
            </Text>
          ))}
        </Card>
      )}
      <Card withBorder>
        <Title order={5} mb="xs">Last session per policy</Title>
        <Table data-testid="last-sessions">
          <Table.Tbody>
            {o.lastSessions.map(({ policyId, session }) => (
              <Table.Tr key={policyId}>
                <Table.Td>{policyId}</Table.Td>
                <Table.Td>{session ? <StatusBadge status={session.status} /> : <Text size="sm" c="dimmed">never ran</Text>}</Table.Td>
                <Table.Td>{session && <SessionLink session={session} />}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
      <Card withBorder>
        <Title order={5} mb="xs">Repository</Title>
        <Repository repo={o.repository} />
      </Card>
    </Stack>
  );
}

export function DashboardPage({ account }: { account: string }) {
  const overview = useApi<Overview>(accountPath(account, '/overview'));
  const sessions = useApi<{ sessions: Session[] }>(accountPath(account, '/sessions?limit=10'));
  return (
    <Stack data-testid="dashboard-page">
      <Group justify="space-between">
        <Title order={2}>Dashboard</Title>
        <Text c="dimmed">Account {account}</Text>
      </Group>
      <Loaded state={overview} what="Overview">{(o) => <OverviewCards o={o} />}</Loaded>
      <Card withBorder>
        <Title order={5} mb="xs">Recent sessions</Title>
        <Loaded state={sessions} what="Sessions">
          {(s) =>
            s.sessions.length === 0 ? (
              <Text c="dimmed" size="sm" data-testid="no-sessions">No backup sessions yet.</Text>
            ) : (
              <Table data-testid="recent-sessions">
                <Table.Tbody>
                  {s.sessions.map((x) => (
                    <Table.Tr key={x.id}>
                      <Table.Td>{x.policyId}</Table.Td>
                      <Table.Td><StatusBadge status={x.status} /></Table.Td>
                      <Table.Td><SessionLink session={x} /></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )
          }
        </Loaded>
      </Card>
    </Stack>
  );
}
