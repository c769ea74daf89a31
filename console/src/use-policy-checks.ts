// Live checks of the editor's text: parse at once, then (debounced) validate and plan on the server.
import { useDebouncedValue } from '@mantine/hooks';
import { useEffect, useState } from 'react';
import { accountPath, api } from './api.ts';
import { parsePolicyText, type Parsed } from './policy-text.ts';
import type { PlanResult, PolicyProblem } from './types.ts';

export interface PolicyChecks {
  parsed: Parsed;
  /** Server problems for the current text; undefined while checking. */
  problems: PolicyProblem[] | undefined;
  checkError: unknown;
  plan: PlanResult['plan'] | undefined;
  planError: unknown;
}

export function usePolicyChecks(account: string, text: string, delayMs = 400): PolicyChecks {
  const [debounced] = useDebouncedValue(text, delayMs);
  const [state, setState] = useState<Omit<PolicyChecks, 'parsed'> & { for?: string }>({ problems: undefined, checkError: undefined, plan: undefined, planError: undefined });

  useEffect(() => {
    const parsed = parsePolicyText(debounced);
    if (!parsed.ok) {
      setState({ problems: undefined, checkError: undefined, plan: undefined, planError: undefined, for: debounced });
      return;
    }
    const controller = new AbortController();
    const validation = api<{ valid: boolean; problems: PolicyProblem[] }>('POST', accountPath(account, '/policies/validate'), parsed.value, controller.signal);
    const plan = api<PlanResult>('POST', accountPath(account, '/policies/plan'), parsed.value, controller.signal);
    void Promise.allSettled([validation, plan]).then(([v, p]) => {
      if (controller.signal.aborted) return;
      setState({
        for: debounced,
        problems: v.status === 'fulfilled' ? v.value.problems : undefined,
        checkError: v.status === 'rejected' ? v.reason : undefined,
        plan: p.status === 'fulfilled' ? p.value.plan : undefined,
        planError: p.status === 'rejected' ? p.reason : undefined,
      });
    });
    return () => controller.abort();
  }, [account, debounced]);

  const parsed = parsePolicyText(text);
  const fresh = state.for === text;
  return { parsed, problems: fresh ? state.problems : undefined, checkError: fresh ? state.checkError : undefined, plan: state.plan, planError: state.planError };
}
