// Restore points browser: the account's resources, and the selected resource's timeline.
import { Badge, Card, Grid, NavLink, Stack, Text, Title } from '@mantine/core';
import { accountPath, ApiError } from '../api.ts';
import { ErrorAlert, Loaded } from '../components/ApiNotice.tsx';
import { PointTimeline } from '../components/PointTimeline.tsx';
import { time } from '../format.ts';
import { resourcesOf, withChainPositions } from '../restore-points.ts';
import { navigate } from '../router.ts';
import type { Resource, RestorePoint, Timeline } from '../types.ts';
import { useApi } from '../use-api.ts';

interface Row {
  id: string;
  label: string;
  detail: string;
  protected?: boolean;
}

function rows(resources: Resource[] | undefined, points: RestorePoint[]): Row[] {
  if (resources) return resources.map((r) => ({ id: r.id, label: r.id, detail: `${r.type} · ${r.region}${r.lastRestorePoint ? ` · last ${time(r.lastRestorePoint.finishedAt)}` : ''}`, protected: r.protected }));
  return resourcesOf(points).map((r) => ({ id: r.id, label: r.id, detail: `${r.kind} · ${r.points} points · last ${time(r.lastFinishedAt)}` }));
}

function ResourceTimeline({ account, resourceId, points }: { account: string; resourceId: string; points: RestorePoint[] }) {
  const timeline = useApi<Timeline>(accountPath(account, `/resources/${encodeURIComponent(resourceId)}/timeline`));
  const fallback = withChainPositions(points.filter((p) => p.resource.id === resourceId));
  if (timeline.error instanceof ApiError && timeline.error.unavailable) {
    return (
      <Stack>
        <ErrorAlert error={timeline.error} what="Snapshot timeline" testId="timeline-unavailable" />
        <PointTimeline points={fallback} snapshots={[]} />
      </Stack>
    );
  }
  return <Loaded state={timeline} what="Timeline">{(t) => <PointTimeline points={withChainPositions(t.restorePoints)} snapshots={t.snapshots} />}</Loaded>;
}

export function RestorePointsPage({ account, resourceId }: { account: string; resourceId: string | null }) {
  const points = useApi<{ restorePoints: RestorePoint[] }>(accountPath(account, '/restore-points'));
  const resources = useApi<{ resources: Resource[] }>(accountPath(account, '/resources'));
  const resourcesReady = resources.data !== undefined || resources.error !== undefined;
  return (
    <Stack data-testid="restore-points-page">
      <Title order={2}>Restore points</Title>
      {resources.error !== undefined && !(resources.error instanceof ApiError && resources.error.unavailable) && <ErrorAlert error={resources.error} what="Resources" />}
      <Loaded state={points} what="Restore points">
        {({ restorePoints }) => {
          if (!resourcesReady) return null;
          const list = rows(resources.data?.resources, restorePoints);
          const selected = resourceId ?? list[0]?.id ?? null;
          return (
            <Grid>
              <Grid.Col span={{ base: 12, md: 4 }}>
                <Card withBorder p="xs" data-testid="resource-list">
                  {list.length === 0 && <Text c="dimmed" size="sm">No resources.</Text>}
                  {list.map((r) => (
                    <NavLink
                      key={r.id}
                      label={r.label}
                      description={r.detail}
                      active={r.id === selected}
                      rightSection={r.protected === undefined ? undefined : <Badge size="xs" color={r.protected ? 'green' : 'orange'}>{r.protected ? 'protected' : 'unprotected'}</Badge>}
                      onClick={() => navigate(`/restore-points?resource=${encodeURIComponent(r.id)}`)}
                      data-testid="resource-item"
                      data-resource-id={r.id}
                    />
                  ))}
                </Card>
              </Grid.Col>
              <Grid.Col span={{ base: 12, md: 8 }}>
                {selected && (
                  <Card withBorder>
                    <Title order={4} mb="sm">{selected}</Title>
                    <ResourceTimeline key={selected} account={account} resourceId={selected} points={restorePoints} />
                  </Card>
                )}
              </Grid.Col>
            </Grid>
          );
        }}
      </Loaded>
    </Stack>
  );
}
