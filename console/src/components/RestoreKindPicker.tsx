// The wizard's choice of what to restore to: the kinds this server and point offer; the others greyed with the reason.
import { Radio, Stack } from '@mantine/core';
import { ALL_KINDS, KIND_LABELS, offeredKinds, unofferedReason, type Capabilities, type RestoreKind } from '../restore-kinds.ts';
import type { RestorePoint } from '../types.ts';

export function RestoreKindPicker({ caps, point, value, onChange }: { caps: Capabilities; point: RestorePoint; value: RestoreKind; onChange: (k: RestoreKind) => void }) {
  const offered = offeredKinds(caps, point);
  // Kinds neither this server nor this point could ever offer (image files on AWS, say) are left out.
  const shown = ALL_KINDS.filter((k) => offered.includes(k) || (k !== 'image' && caps.restores.image) || (k === 'instance' && caps.restores.instance));
  return (
    <Radio.Group value={value} onChange={(k) => onChange(k as RestoreKind)} mt="xs" data-testid="restore-kind">
      <Stack gap={6}>
        {shown.map((k) => (
          <Radio
            key={k}
            value={k}
            label={KIND_LABELS[k]}
            disabled={!offered.includes(k)}
            description={offered.includes(k) ? undefined : unofferedReason(caps, k)}
            data-testid={`restore-kind-${k}`}
          />
        ))}
      </Stack>
    </Radio.Group>
  );
}
