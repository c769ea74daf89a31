// The problems of a policy check, each with the field path it concerns.
import { Alert, Code, List, Text } from '@mantine/core';
import type { PolicyProblem } from '../types.ts';

export function ProblemList({ problems }: { problems: PolicyProblem[] }) {
  if (problems.length === 0) {
    return (
      <Alert color="green" data-testid="policy-valid">
        The policy is valid.
      </Alert>
    );
  }
  return (
    <Alert color="red" title={`${problems.length} problem${problems.length === 1 ? '' : 's'}`} data-testid="policy-problems">
      <List size="sm" spacing={4}>
        {problems.map((p, i) => (
          <List.Item key={i} data-testid="policy-problem" data-path={p.path}>
            <Code>{p.path || '(policy)'}</Code> <Text span size="sm">{p.message}</Text>
          </List.Item>
        ))}
      </List>
    </Alert>
  );
}
