// One backup session: status, per-resource progress, sizes, bottleneck, and the session log; polls while running.
import { Alert, Badge, Card, Code, Group, Progress, ScrollArea, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { BarChart } from '@mantine/charts';
import { useEffect } from 'react';
import { accountPath } from '../api.ts';
import { Loaded } from '../components/ApiNotice.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { bytes, duration, percent, time } from '../format.ts';
import type { LogEntry, Session, Task } from '../types.ts';
import { useApi } from '../use-api.ts';

const POLL_MS = 1000;
const whileRunning = (d: { session: Session }) => (d.session.status === 'running' ? POLL_MS : undefined);

function Bottleneck({ task }: { task: Task }) {
  const stages = task.stages ? Object.entries(task.stages) : [];
  if (stages.length > 0) {
    return (
      <BarChart h={120} data={stages.map(([stage, ms]) => ({ stage, ms }))} dataKey="stage" series={[{ name: 'ms', color: 'teal.6', label: 'busy ms' }]} data-testid="task-stages" />
    );
  }
  return task.bottleneck ? <Badge variant="outline" data-testid="task-bottleneck">bottleneck: {task.bottleneck}</Badge> : null;
}

function TaskCard({ task }: { task: Task }) {
  const pct = percent(task.progress.bytesDone, task.progress.bytesTotal);
  return (
    <Card withBorder data-testid="task" data-resource-id={task.resourceId}>
      <Stack gap={6}>
        <Group justify="space-between">
          <Text fw={600}>{task.resourceId}</Text>
          <StatusBadge status={task.status} testId="task-status" />
        </Group>
        <Progress value={pct} animated={task.status === 'running'} data-testid="task-progress" aria-label={`${task.resourceId} progress`} />
        <Text size="sm">
          {bytes(task.progress.bytesDone)} of {bytes(task.progress.bytesTotal)} ({pct.toFixed(0)}%) · source {bytes(task.sizes.sourceBytes)} · read {bytes(task.sizes.readBytes)} · stored {bytes(task.sizes.storedBytes)}
          {task.endedAt ? ` · ${duration(task.endedAt - task.createdAt)}` : ''}
        </Text>
        {task.error && <Alert color="red" data-testid="task-error">{task.error}</Alert>}
        <Bottleneck task={task} />
      </Stack>
    </Card>
  );
}

function SessionLog({ account, sessionId, running }: { account: string; sessionId: string; running: boolean }) {
  const log = useApi<{ entries: LogEntry[] }>(accountPath(account, `/sessions/${encodeURIComponent(sessionId)}/log`), () => (running ? POLL_MS : undefined));
  const { reload } = log;
  // Once the session ends, read the log one last time for its final entries.
  useEffect(() => {
    if (!running) reload();
  }, [running, reload]);
  return (
    <Card withBorder>
      <Title order={5} mb="xs">Log</Title>
      <Loaded state={log} what="Session log">
        {({ entries }) => (
          <ScrollArea h={260}>
            <Table data-testid="session-log" fz="xs">
              <Table.Tbody>
                {entries.map((e, i) => (
                  <Table.Tr key={i}>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{time(e.time)}</Table.Td>
                    <Table.Td><Code>{e.level}</Code></Table.Td>
                    <Table.Td>{e.resourceId}</Table.Td>
                    <Table.Td>{e.message}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        )}
      </Loaded>
    </Card>
  );
}

export function SessionPage({ account, sessionId }: { account: string; sessionId: string }) {
  const state = useApi<{ session: Session; tasks: Task[] }>(accountPath(account, `/sessions/${encodeURIComponent(sessionId)}`), whileRunning);
  return (
    <Stack data-testid="session-page">
      <Title order={2}>Session</Title>
      <Loaded state={state} what="Session">
        {({ session, tasks }) => (
          <Stack>
            <Card withBorder>
              <SimpleGrid cols={{ base: 2, md: 4 }}>
                <div><Text size="sm" c="dimmed">Policy</Text><Text data-testid="session-policy">{session.policyId}</Text></div>
                <div><Text size="sm" c="dimmed">Status</Text><StatusBadge status={session.status} testId="session-status" /></div>
                <div><Text size="sm" c="dimmed">Started</Text><Text>{time(session.startedAt)}</Text></div>
                <div><Text size="sm" c="dimmed">Duration</Text><Text>{duration((session.endedAt ?? Date.now()) - session.startedAt)}</Text></div>
              </SimpleGrid>
              {session.message && <Text size="sm" mt="xs" data-testid="session-message">{session.message}</Text>}
            </Card>
            {tasks.length === 0 ? <Text c="dimmed">No resources yet.</Text> : tasks.map((t) => <TaskCard key={t.resourceId} task={t} />)}
            <SessionLog account={account} sessionId={sessionId} running={session.status === 'running'} />
          </Stack>
        )}
      </Loaded>
    </Stack>
  );
}
