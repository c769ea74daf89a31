// A colored badge for session, task and restore statuses.
import { Badge } from '@mantine/core';
import { STATUS_COLORS } from '../format.ts';

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <Badge color={STATUS_COLORS[status] ?? 'gray'} variant="light" data-testid={testId ?? 'status-badge'} data-status={status}>
      {status}
    </Badge>
  );
}
