// A finished AWS restore: the new snapshots, volumes or instance, in their region.
import { Alert, Code, List, Stack, Text } from '@mantine/core';
import type { AwsRestoreJob } from '../types.ts';

export function AwsRestoreResult({ job }: { job: AwsRestoreJob }) {
  const r = job.result;
  if (!r) return <Alert color="green" title="Restore finished" data-testid="restore-result">The restore reported no result.</Alert>;
  return (
    <Alert color="green" title="Restore finished" data-testid="restore-result">
      <Stack gap={4}>
        <Text size="sm">Region: <Code data-testid="aws-result-region">{r.region}</Code></Text>
        {r.instanceId && <Text size="sm">Instance: <Code data-testid="aws-result-instance">{r.instanceId}</Code>{r.imageId && <> from image <Code data-testid="aws-result-image">{r.imageId}</Code></>}</Text>}
        {r.volumes && r.volumes.length > 0 && (
          <>
            <Text size="sm">Volumes:</Text>
            <List size="sm">{r.volumes.map((v) => <List.Item key={v.volumeId}><Code data-testid="aws-result-volume">{v.volumeId}</Code> ({v.disk}, {v.availabilityZone})</List.Item>)}</List>
          </>
        )}
        {r.snapshots.length > 0 && (
          <>
            <Text size="sm">Snapshots:</Text>
            <List size="sm">{r.snapshots.map((s) => <List.Item key={s.snapshotId}><Code data-testid="aws-result-snapshot">{s.snapshotId}</Code> ({s.disk})</List.Item>)}</List>
          </>
        )}
      </Stack>
    </Alert>
  );
}
