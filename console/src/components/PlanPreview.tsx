// What a policy would do: the resources it selects, ids it names that do not exist, and its next runs.
import { Badge, Card, Group, List, Stack, Table, Text, Title } from '@mantine/core';
import { time } from '../format.ts';
import type { PlanResult } from '../types.ts';

function NextRuns({ label, s }: { label: string; s?: { schedule: string; timeZone: string; next: number[] } }) {
  if (!s) return null;
  return (
    <div>
      <Text size="sm" fw={600}>{label}: {s.schedule} ({s.timeZone})</Text>
      <List size="sm" data-testid={`next-runs-${label.toLowerCase()}`}>
        {s.next.slice(0, 5).map((t) => <List.Item key={t}>{time(t)}</List.Item>)}
      </List>
    </div>
  );
}

export function PlanPreview({ plan }: { plan: NonNullable<PlanResult['plan']> }) {
  return (
    <Card withBorder data-testid="plan-preview">
      <Stack gap="xs">
        <Title order={5}>Plan</Title>
        <Text size="sm">{plan.selected.length} resource{plan.selected.length === 1 ? '' : 's'} selected</Text>
        {plan.selected.length > 0 && (
          <Table data-testid="plan-selected">
            <Table.Tbody>
              {plan.selected.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>{r.id}</Table.Td>
                  <Table.Td>{r.type}</Table.Td>
                  <Table.Td>{r.region}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {plan.missingIds.length > 0 && (
          <Group gap={4}>
            <Text size="sm" c="orange">Not found:</Text>
            {plan.missingIds.map((id) => <Badge key={id} color="orange" variant="light">{id}</Badge>)}
          </Group>
        )}
        <NextRuns label="Snapshots" s={plan.snapshots} />
        <NextRuns label="Backup" s={plan.backup} />
      </Stack>
    </Card>
  );
}
