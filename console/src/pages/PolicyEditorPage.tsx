// One policy: YAML/JSON editor with live validation and plan, save, enable/disable, run now.
import { Alert, Badge, Button, Grid, Group, Loader, Stack, Switch, Text, Textarea, Title } from '@mantine/core';
import { useState } from 'react';
import { accountPath, api, ApiError } from '../api.ts';
import { ErrorAlert, errorText, Loaded } from '../components/ApiNotice.tsx';
import { PlanPreview } from '../components/PlanPreview.tsx';
import { ProblemList } from '../components/ProblemList.tsx';
import { policyTemplate, policyToText } from '../policy-text.ts';
import { navigate } from '../router.ts';
import type { StoredPolicy } from '../types.ts';
import { useApi } from '../use-api.ts';
import { usePolicyChecks } from '../use-policy-checks.ts';

function Editor({ account, stored, saved }: { account: string; stored: StoredPolicy | null; saved?: string | null }) {
  const [policy, setPolicy] = useState(stored);
  const [text, setText] = useState(() => (stored ? policyToText(stored.body) : policyTemplate(account)));
  const [busy, setBusy] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(saved ? { ok: true, text: `Saved version ${saved}.` } : null);
  const checks = usePolicyChecks(account, text);
  const canSave = checks.parsed.ok && checks.problems?.length === 0 && busy === null;

  const act = async (what: string, fn: () => Promise<string | void>) => {
    setBusy(what);
    setNotice(null);
    try {
      const message = await fn();
      if (message) setNotice({ ok: true, text: message });
    } catch (err) {
      const conflict = err instanceof ApiError && err.status === 409;
      setNotice({ ok: false, text: conflict ? `${errorText(err)} — someone changed the policy; reload the page to see their version.` : `${what} failed: ${errorText(err)}` });
    } finally {
      setBusy(null);
    }
  };
  const save = () =>
    act('Save', async () => {
      if (!checks.parsed.ok) return;
      const id = String((checks.parsed.value as { id?: unknown }).id ?? '');
      if (policy && id !== policy.id) throw new Error(`the id is ${JSON.stringify(id)}, expected ${JSON.stringify(policy.id)}: to copy a policy, start a new one`);
      const out = await api<{ policy: StoredPolicy }>('PUT', accountPath(account, `/policies/${encodeURIComponent(id)}`), { expectedVersion: policy?.version ?? 0, policy: checks.parsed.value });
      setPolicy(out.policy);
      if (!policy) navigate(`/policies/${encodeURIComponent(out.policy.id)}?saved=${out.policy.version}`, true);
      return `Saved version ${out.policy.version}.`;
    });
  const toggle = (enabled: boolean) =>
    act(enabled ? 'Enable' : 'Disable', async () => {
      const out = await api<{ policy: StoredPolicy }>('POST', accountPath(account, `/policies/${encodeURIComponent(policy!.id)}/${enabled ? 'enable' : 'disable'}`), {});
      setPolicy(out.policy);
      return enabled ? 'Enabled: schedules run it.' : 'Disabled: schedules skip it; Run now still works.';
    });
  const run = () =>
    act('Run now', async () => {
      const out = await api<{ sessionId: string }>('POST', accountPath(account, `/policies/${encodeURIComponent(policy!.id)}/run`), {});
      navigate(`/sessions/${encodeURIComponent(out.sessionId)}`);
    });

  const enabled = policy?.body.enabled !== false;
  return (
    <Stack data-testid="policy-editor">
      <Group justify="space-between">
        <Title order={2}>{policy ? policy.name : 'New policy'}</Title>
        {policy && <Badge variant="light" data-testid="policy-version">version {policy.version}</Badge>}
      </Group>
      {notice && (
        <Alert color={notice.ok ? 'green' : 'red'} data-testid={notice.ok ? 'policy-notice' : 'policy-action-error'}>
          {notice.text}
        </Alert>
      )}
      <Group>
        <Button onClick={() => void save()} disabled={!canSave} loading={busy === 'Save'} data-testid="policy-save">Save</Button>
        {policy && (
          <>
            <Switch label={enabled ? 'Enabled' : 'Disabled'} checked={enabled} disabled={busy !== null} onChange={(e) => void toggle(e.currentTarget.checked)} data-testid="policy-enabled" />
            <Button variant="light" onClick={() => void run()} loading={busy === 'Run now'} data-testid="policy-run">Run now</Button>
          </>
        )}
      </Group>
      <Grid>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Textarea
            label="Policy (YAML or JSON)"
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            autosize
            minRows={20}
            spellCheck={false}
            styles={{ input: { fontFamily: 'monospace', fontSize: 13 } }}
            data-testid="policy-text"
          />
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack>
            {!checks.parsed.ok ? (
              <Alert color="red" data-testid="policy-parse-error">{checks.parsed.error}</Alert>
            ) : checks.checkError !== undefined ? (
              <ErrorAlert error={checks.checkError} what="Validation" />
            ) : checks.problems === undefined ? (
              <Group gap="xs"><Loader size="xs" /><Text size="sm" c="dimmed">checking…</Text></Group>
            ) : (
              <ProblemList problems={checks.problems} />
            )}
            {checks.planError !== undefined ? <ErrorAlert error={checks.planError} what="Plan preview" testId="plan-unavailable" /> : checks.plan && <PlanPreview plan={checks.plan} />}
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}

export function PolicyEditorPage({ account, policyId, saved }: { account: string; policyId: string | null; saved?: string | null }) {
  const state = useApi<{ policy: StoredPolicy }>(policyId === null ? null : accountPath(account, `/policies/${encodeURIComponent(policyId)}`));
  if (policyId === null) return <Editor account={account} stored={null} />;
  return <Loaded state={state} what="Loading the policy">{(d) => <Editor account={account} stored={d.policy} saved={saved} />}</Loaded>;
}
