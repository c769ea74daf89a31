// The wizard's AWS targets: EBS snapshots, a new EBS volume, or a new instance, in a region (and
// account, through a role); checks shown next to the fields; starts the restore of the API contract.
import { Alert, Button, Group, NativeSelect, SimpleGrid, Stack, TextInput } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { accountPath, api } from '../api.ts';
import { awsRestoreRequest, defaultValues, minSizeGiB, VOLUME_TYPES, type AwsKind, type AwsRestoreValues } from '../aws-restore.ts';
import { navigate } from '../router.ts';
import type { RestoreJob, RestorePoint } from '../types.ts';
import { errorText } from './ApiNotice.tsx';

interface Props {
  account: string;
  point: RestorePoint;
  kind: AwsKind;
  /** The disk chosen in the wizard (snapshot and volume restores). */
  disk: string;
  /** Region when the point records none (the deployment's). */
  defaultRegion: string;
}

export function AwsRestoreForm({ account, point, kind, disk, defaultRegion }: Props) {
  const [values, setValues] = useState<AwsRestoreValues>(() => defaultValues(point.resource.region ?? defaultRegion));
  const [checked, setChecked] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const diskBytes = point.disks.find((d) => d.name === disk)?.size ?? 0;
  const { errors, body } = awsRestoreRequest(kind, point.id, [disk], values, diskBytes);

  const field = (name: keyof AwsRestoreValues, label: string, extra: { placeholder?: string; description?: string } = {}): ReactNode => (
    <TextInput
      label={label}
      {...extra}
      value={values[name]}
      onChange={(e) => {
        const value = e.currentTarget.value;
        setValues((v) => ({ ...v, [name]: value }));
      }}
      error={checked && errors[name] ? <span data-testid={`aws-error-${name}`}>{errors[name]}</span> : undefined}
      data-testid={`aws-${name}`}
    />
  );

  const start = async () => {
    setChecked(true);
    if (!body) return;
    setBusy(true);
    setError(null);
    try {
      const out = await api<{ restore: RestoreJob }>('POST', accountPath(account, '/restores'), body);
      navigate(`/restore?point=${encodeURIComponent(point.id)}&job=${encodeURIComponent(out.restore.id)}`, true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack data-testid="aws-restore-form" data-kind={kind}>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {field('region', 'Target region')}
        {field('roleArn', 'Target account role ARN (optional)', { placeholder: 'arn:aws:iam::123456789012:role/CloudkeepRestore', description: 'Restore into another account through this role; empty: this account' })}
      </SimpleGrid>
      {kind === 'ebs-volume' && (
        <SimpleGrid cols={{ base: 1, md: 3 }}>
          {field('availabilityZone', 'Availability zone', { placeholder: `${values.region || 'eu-west-1'}a` })}
          <NativeSelect label="Volume type" data={VOLUME_TYPES} value={values.volumeType} onChange={(e) => {
            const volumeType = e.currentTarget.value;
            setValues((v) => ({ ...v, volumeType }));
          }} data-testid="aws-volumeType" />
          {field('sizeGiB', 'Size in GiB (optional)', { placeholder: `at least ${minSizeGiB(diskBytes)}` })}
          {field('iops', 'IOPS (optional for gp3)')}
          {field('throughput', 'Throughput MiB/s (gp3, optional)')}
        </SimpleGrid>
      )}
      {kind === 'instance' && (
        <SimpleGrid cols={{ base: 1, md: 3 }}>
          {field('instanceType', 'Instance type (optional)', { placeholder: 'as recorded' })}
          {field('subnetId', 'Subnet (optional)', { placeholder: 'as recorded' })}
          {field('securityGroupIds', 'Security groups (optional)', { placeholder: 'sg-..., sg-...' })}
        </SimpleGrid>
      )}
      {error && <Alert color="red" data-testid="restore-start-error">{error}</Alert>}
      <Group>
        <Button onClick={() => void start()} loading={busy} disabled={checked && !body} data-testid="restore-start" w={180}>Start restore</Button>
      </Group>
    </Stack>
  );
}
