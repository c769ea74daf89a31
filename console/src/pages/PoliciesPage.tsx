// The account's policies, with a link to each editor and a "New policy" button.
import { Anchor, Badge, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { accountPath } from '../api.ts';
import { Loaded } from '../components/ApiNotice.tsx';
import { time } from '../format.ts';
import { navigate } from '../router.ts';
import type { StoredPolicy } from '../types.ts';
import { useApi } from '../use-api.ts';

export function PoliciesPage({ account }: { account: string }) {
  const state = useApi<{ policies: StoredPolicy[] }>(accountPath(account, '/policies'));
  return (
    <Stack data-testid="policies-page">
      <Group justify="space-between">
        <Title order={2}>Policies</Title>
        <Button onClick={() => navigate('/policies/new')} data-testid="policy-new">New policy</Button>
      </Group>
      <Loaded state={state} what="Policies">
        {({ policies }) =>
          policies.length === 0 ? (
            <Text c="dimmed" data-testid="no-policies">No policies yet: start one with "New policy".</Text>
          ) : (
            <Table data-testid="policy-list" highlightOnHover>
              <Table.Thead>
                <Table.Tr><Table.Th>Id</Table.Th><Table.Th>Name</Table.Th><Table.Th>State</Table.Th><Table.Th>Version</Table.Th><Table.Th>Updated</Table.Th></Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {policies.map((p) => {
                  const href = `/policies/${encodeURIComponent(p.id)}`;
                  return (
                    <Table.Tr key={p.id} data-testid="policy-row" data-policy-id={p.id}>
                      <Table.Td><Anchor href={href} onClick={(e) => { e.preventDefault(); navigate(href); }}>{p.id}</Anchor></Table.Td>
                      <Table.Td>{p.name}</Table.Td>
                      <Table.Td>{p.body.enabled === false ? <Badge color="gray">disabled</Badge> : <Badge color="green" variant="light">enabled</Badge>}</Table.Td>
                      <Table.Td>{p.version}</Table.Td>
                      <Table.Td>{time(p.updatedAt)}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          )
        }
      </Loaded>
    </Stack>
  );
}
