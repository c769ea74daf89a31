// A running or finished restore: progress (polled every second), cancel, and the verified result.
import { Alert, Button, Card, Code, Group, Progress, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { accountPath, api } from '../api.ts';
import { errorText, Loaded } from './ApiNotice.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { bytes, duration, percent } from '../format.ts';
import type { RestoreJob } from '../types.ts';
import { useApi } from '../use-api.ts';

function Result({ job }: { job: RestoreJob }) {
  const r = job.result;
  return (
    <Alert color="green" title="Restore finished" data-testid="restore-result">
      <Stack gap={2}>
        <Text size="sm">Path: <Code data-testid="restore-path">{job.targetPath}</Code> (in the server's restore directory)</Text>
        <Text size="sm">
          Size: <b data-testid="restore-bytes">{job.bytesTotal}</b> bytes ({bytes(job.bytesTotal)})
          {r && <> · written {bytes(r.bytesWritten)} (all-zero blocks are left sparse)</>}
        </Text>
        <Text size="sm">Duration: <span data-testid="restore-duration">{duration(r?.durationMs)}</span></Text>
        <Text size="sm">SHA-256: <Code data-testid="restore-sha256">{r?.sha256 ?? '—'}</Code></Text>
        <Text size="sm" fw={600} data-testid="restore-verified">Verified: every block authenticated (AES-GCM) while reading the restore point.</Text>
      </Stack>
    </Alert>
  );
}

export function RestoreProgress({ account, jobId }: { account: string; jobId: string }) {
  const path = accountPath(account, `/restores/${encodeURIComponent(jobId)}`);
  const state = useApi<{ restore: RestoreJob }>(path, (d) => (d.restore.status === 'running' ? 1000 : undefined));
  const [cancelError, setCancelError] = useState<string | null>(null);
  const cancel = async () => {
    setCancelError(null);
    try {
      await api('POST', `${path}/cancel`, {});
    } catch (err) {
      setCancelError(`Cancel failed: ${errorText(err)}`);
    }
    state.reload();
  };
  return (
    <Card withBorder data-testid="restore-progress">
      <Loaded state={state} what="Restore">
        {({ restore: job }) => (
          <Stack>
            <Group justify="space-between">
              <Title order={4}>Restore {job.id.slice(0, 8)}</Title>
              <StatusBadge status={job.status} testId="restore-status" />
            </Group>
            <Progress value={percent(job.bytesDone, job.bytesTotal)} animated={job.status === 'running'} size="lg" data-testid="restore-progress-bar" />
            <Text size="sm">{bytes(job.bytesDone)} of {bytes(job.bytesTotal)}</Text>
            {job.status === 'running' && (
              <Button color="red" variant="light" onClick={() => void cancel()} data-testid="restore-cancel" w={120}>Cancel</Button>
            )}
            {cancelError && <Alert color="red" data-testid="restore-cancel-error">{cancelError}</Alert>}
            {job.status === 'succeeded' && <Result job={job} />}
            {job.status === 'failed' && <Alert color="red" data-testid="restore-failed">The restore failed: {job.error ?? 'no detail'}.</Alert>}
            {job.status === 'cancelled' && <Alert color="gray" data-testid="restore-cancelled">Cancelled; the partial file was removed.</Alert>}
          </Stack>
        )}
      </Loaded>
    </Card>
  );
}
