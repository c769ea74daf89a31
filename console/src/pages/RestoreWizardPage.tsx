// The restore wizard: restore point -> disk -> target (image file, or the AWS kinds the server offers) -> start,
// then progress and the result.
import { Alert, Button, Card, Group, Loader, Radio, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { accountPath, api } from '../api.ts';
import { useCapabilities } from '../capabilities.ts';
import { errorText, Loaded } from '../components/ApiNotice.tsx';
import { AwsRestoreForm } from '../components/AwsRestoreForm.tsx';
import { RestoreKindPicker } from '../components/RestoreKindPicker.tsx';
import { RestoreProgress } from '../components/RestoreProgress.tsx';
import { offeredKinds, type Capabilities, type RestoreKind } from '../restore-kinds.ts';
import { bytes, time } from '../format.ts';
import { navigate } from '../router.ts';
import type { RestoreJob, RestorePoint } from '../types.ts';
import { useApi } from '../use-api.ts';

/** `<resource>-<point id>.img` (ids start with the time, so points of one day differ); the disk is added when the point has several. */
export function defaultTarget(p: RestorePoint, disk: string): string {
  const base = `${p.resource.id}-${p.id}${p.disks.length > 1 ? `-${disk}` : ''}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${base}.img`;
}

function Form({ account, points, pointId, caps, region }: { account: string; points: RestorePoint[]; pointId: string | null; caps: Capabilities; region: string }) {
  const point = points.find((p) => p.id === pointId) ?? null;
  const [kind, setKind] = useState<RestoreKind>(() => (point ? offeredKinds(caps, point)[0] : undefined) ?? 'image');
  const [disk, setDisk] = useState(point?.disks[0]?.name ?? 'root');
  const [target, setTarget] = useState(point ? defaultTarget(point, disk) : '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const pick = (id: string | null) => navigate(id ? `/restore?point=${encodeURIComponent(id)}` : '/restore', true);
  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const out = await api<{ restore: RestoreJob }>('POST', accountPath(account, '/restores'), { pointId: point!.id, disk, targetPath: target });
      navigate(`/restore?point=${encodeURIComponent(point!.id)}&job=${encodeURIComponent(out.restore.id)}`, true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const options = [...points].sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt)).map((p) => ({ value: p.id, label: `${p.resource.id} · ${p.kind} · ${time(p.finishedAt)}` }));
  return (
    <Stack>
      <Card withBorder>
        <Title order={5}>1. Restore point</Title>
        <Select data={options} value={point?.id ?? null} onChange={pick} searchable placeholder="Pick a restore point" data-testid="restore-point-select" />
        {point && <Text size="sm" mt={4} data-testid="restore-point-summary">{point.kind} point {point.id} of {point.resource.id}, {bytes(point.size)}, {time(point.finishedAt)}</Text>}
      </Card>
      {point && (
        <>
          <Card withBorder>
            <Title order={5}>2. Disk</Title>
            {kind === 'instance' ? (
              <Text size="sm" mt="xs" data-testid="restore-all-disks">A new instance gets every disk of the point: {point.disks.map((d) => d.name).join(', ')}.</Text>
            ) : (
              <Radio.Group value={disk} onChange={(d) => { setDisk(d); setTarget(defaultTarget(point, d)); }} data-testid="restore-disk">
                <Group mt="xs">{point.disks.map((d) => <Radio key={d.name} value={d.name} label={`${d.name} (${bytes(d.size)})`} />)}</Group>
              </Radio.Group>
            )}
          </Card>
          <Card withBorder>
            <Title order={5}>3. Target</Title>
            <RestoreKindPicker caps={caps} point={point} value={kind} onChange={setKind} />
            {kind === 'image' && <TextInput mt="sm" label="File name (in the server's restore directory)" value={target} onChange={(e) => setTarget(e.currentTarget.value)} data-testid="restore-target" />}
            {kind !== 'image' && <AwsRestoreForm key={kind} account={account} point={point} kind={kind} disk={disk} defaultRegion={region} />}
          </Card>
          {kind === 'image' && (
            <>
              {error && <Alert color="red" data-testid="restore-start-error">{error}</Alert>}
              <Button onClick={() => void start()} loading={busy} disabled={!target.trim()} data-testid="restore-start" w={180}>Start restore</Button>
            </>
          )}
        </>
      )}
    </Stack>
  );
}

export function RestoreWizardPage({ account, pointId, jobId, region = '' }: { account: string; pointId: string | null; jobId: string | null; region?: string }) {
  const points = useApi<{ restorePoints: RestorePoint[] }>(accountPath(account, '/restore-points'));
  const { caps } = useCapabilities();
  return (
    <Stack data-testid="restore-wizard">
      <Title order={2}>Restore</Title>
      {jobId ? (
        <>
          <RestoreProgress account={account} jobId={jobId} />
          <Button variant="subtle" style={{ alignSelf: 'flex-start' }} onClick={() => navigate('/restore')} data-testid="restore-another">Start another restore</Button>
        </>
      ) : (
        <Loaded state={points} what="Restore points">
          {(d) => (caps ? <Form key={pointId ?? ''} account={account} points={d.restorePoints} pointId={pointId} caps={caps} region={region} /> : <Loader size="sm" data-testid="loading" />)}
        </Loaded>
      )}
    </Stack>
  );
}
