// A resource's snapshots and restore points on one timeline, newest first, each point with a Restore button.
import { Badge, Button, Group, Text, Timeline } from '@mantine/core';
import { bytes, time } from '../format.ts';
import { navigate } from '../router.ts';
import type { RestorePoint, Timeline as TimelineData } from '../types.ts';

type Item = { at: number; point?: RestorePoint; snapshot?: TimelineData['snapshots'][number] };

/** Locked until a date (Object Lock / immutability), and packs in an archive tier (a restore rehydrates them first). */
function StorageBadges({ p }: { p: RestorePoint }) {
  const s = p.storage;
  if (!s) return null;
  const tiers = s.tiers;
  return (
    <>
      {s.lockedUntil !== null && s.lockedUntil > Date.now() && (
        <Badge color="grape" variant="light" data-testid="point-locked">locked until {new Date(s.lockedUntil).toLocaleDateString()}</Badge>
      )}
      {tiers && tiers.archived > 0 && (
        <Badge color="orange" variant="light" data-testid="point-archived">
          {tiers.archived}{tiers.complete ? ` of ${tiers.packs}` : '+'} packs archived{tiers.rehydrating > 0 ? `, ${tiers.rehydrating} rehydrating` : ''}
        </Badge>
      )}
    </>
  );
}

function PointItem({ p }: { p: RestorePoint }) {
  const chain = p.chainLength ? `${(p.chainPosition ?? 0) + 1} of ${p.chainLength}` : `position ${p.chainPosition ?? 0}`;
  return (
    <Group justify="space-between" align="flex-start" data-testid="timeline-point" data-point-id={p.id}>
      <div>
        <Group gap={6}>
          <Badge color={p.kind === 'full' ? 'teal' : 'blue'} variant="light" data-testid="point-kind">{p.kind}</Badge>
          <Text size="xs" c="dimmed">chain {chain}</Text>
          <Text size="xs" c="dimmed" ff="monospace">{p.id.slice(0, 12)}</Text>
          <StorageBadges p={p} />
        </Group>
        <Text size="sm">
          {time(p.finishedAt)} · size {bytes(p.size)} · stored {bytes(p.storedBytes)} · disks {p.disks.map((d) => d.name).join(', ')}
        </Text>
      </div>
      <Button size="xs" variant="light" onClick={() => navigate(`/restore?point=${encodeURIComponent(p.id)}`)} data-testid="point-restore">
        Restore
      </Button>
    </Group>
  );
}

export function PointTimeline({ points, snapshots }: { points: RestorePoint[]; snapshots: TimelineData['snapshots'] }) {
  const items: Item[] = [...points.map((p) => ({ at: Date.parse(p.finishedAt), point: p })), ...snapshots.map((s) => ({ at: s.startTime, snapshot: s }))].sort((a, b) => b.at - a.at);
  if (items.length === 0) return <Text c="dimmed">No snapshots or restore points yet.</Text>;
  return (
    <Timeline bulletSize={18} lineWidth={2} data-testid="resource-timeline">
      {items.map((it) =>
        it.point ? (
          <Timeline.Item key={`p-${it.point.id}`} title="Restore point" color={it.point.kind === 'full' ? 'teal' : 'blue'}>
            <PointItem p={it.point} />
          </Timeline.Item>
        ) : (
          <Timeline.Item key={`s-${it.snapshot!.id}`} title="Snapshot" color="gray" data-testid="timeline-snapshot">
            <Text size="sm">
              {it.snapshot!.id} {it.snapshot!.volumeId ? `of ${it.snapshot!.volumeId}` : ''} · {it.snapshot!.status} · {time(it.snapshot!.startTime)}
            </Text>
          </Timeline.Item>
        ),
      )}
    </Timeline>
  );
}
