// A running or finished restore: progress (polled every second; AWS kinds: status and elapsed time), cancel, and the result.
import { Alert, Button, Card, Code, Group, Progress, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { accountPath, api } from '../api.ts';
import { errorText, Loaded } from './ApiNotice.tsx';
import { AwsRestoreResult } from './AwsRestoreResult.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { bytes, duration, percent } from '../format.ts';
import type { AwsRestoreJob, ImageRestoreJob, RestoreJob } from '../types.ts';
import { useApi } from '../use-api.ts';

function Result({ job }: { job: ImageRestoreJob }) {
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

/** Image restores report bytes; the AWS kinds (snapshot, EBS volume, instance) only their status. */
function isImage(job: RestoreJob): job is ImageRestoreJob {
  // Servers of before the AWS kinds send no kind.
  return (job.kind as string | undefined) === undefined || job.kind === 'image';
}

/** No byte progress: an indeterminate bar while running, and the time so far (the page re-renders on each poll). */
function AwsProgress({ job }: { job: AwsRestoreJob }) {
  const running = job.status === 'running';
  const elapsed = (job.endedAt ?? Date.now()) - job.createdAt;
  return (
    <>
      <Progress value={running ? 100 : job.status === 'succeeded' ? 100 : 0} striped={running} animated={running} size="lg" data-testid="restore-progress-bar" data-indeterminate={running} />
      <Text size="sm" data-testid="restore-elapsed">{job.kind} restore · {running ? 'running for' : 'took'} {duration(elapsed)}</Text>
    </>
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
            {isImage(job) ? (
              <>
                <Progress value={percent(job.bytesDone, job.bytesTotal)} animated={job.status === 'running'} size="lg" data-testid="restore-progress-bar" />
                <Text size="sm">{bytes(job.bytesDone)} of {bytes(job.bytesTotal)}</Text>
              </>
            ) : (
              <AwsProgress job={job} />
            )}
            {job.status === 'running' && (
              <Button color="red" variant="light" onClick={() => void cancel()} data-testid="restore-cancel" w={120}>Cancel</Button>
            )}
            {cancelError && <Alert color="red" data-testid="restore-cancel-error">{cancelError}</Alert>}
            {job.status === 'succeeded' && (isImage(job) ? <Result job={job} /> : <AwsRestoreResult job={job} />)}
            {job.status === 'failed' && <Alert color="red" data-testid="restore-failed">The restore failed: {job.error ?? 'no detail'}.</Alert>}
            {job.status === 'cancelled' && (
              <Alert color="gray" data-testid="restore-cancelled">{isImage(job) ? 'Cancelled; the partial file was removed.' : 'Cancelled; the restore was stopped.'}</Alert>
            )}
          </Stack>
        )}
      </Loaded>
    </Card>
  );
}
