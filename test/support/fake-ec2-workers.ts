// RunInstances / TerminateInstances for the fake EC2 Query server: worker instances launched by the state machine.

export interface FakeWorker {
  id: string;
  region: string;
  state: 'running' | 'terminated';
  /** Every request parameter of RunInstances, as sent (UserData base64, InstanceType, SubnetId, ...). */
  params: Record<string, string>;
  tags: Record<string, string>;
  clientToken?: string;
}

let counter = 0;

/** The XML of a worker action, or undefined when `action` is not one. `fail` builds the Query error. */
export function workerAction(
  workers: FakeWorker[], action: string, p: URLSearchParams, region: string, tags: Record<string, string>, fail: (code: string, message: string) => Error,
): string | undefined {
  const item = (w: FakeWorker) => `<item><instanceId>${w.id}</instanceId><instanceState><code>${w.state === 'running' ? 16 : 48}</code><name>${w.state}</name></instanceState></item>`;
  switch (action) {
    case 'RunInstances': {
      if (!p.get('LaunchTemplate.LaunchTemplateId') && !p.get('LaunchTemplate.LaunchTemplateName')) throw fail('MissingParameter', 'a launch template is required');
      const token = p.get('ClientToken') ?? undefined;
      let w = token ? workers.find((x) => x.clientToken === token) : undefined;
      if (!w) {
        w = { id: `i-worker${(++counter).toString(16).padStart(8, '0')}`, region, state: 'running', params: Object.fromEntries(p), tags, clientToken: token };
        workers.push(w);
      }
      return `<reservationId>r-${w.id}</reservationId><instancesSet>${item(w)}</instancesSet>`;
    }
    case 'TerminateInstances': {
      const ids = [...p].filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v);
      const found = ids.map((id) => workers.find((w) => w.id === id && w.region === region));
      if (found.some((w) => !w)) throw fail('InvalidInstanceID.NotFound', `The instance ID '${ids[found.findIndex((w) => !w)]}' does not exist`);
      for (const w of found as FakeWorker[]) w.state = 'terminated';
      return `<instancesSet>${(found as FakeWorker[]).map(item).join('')}</instancesSet>`;
    }
    default:
      return undefined;
  }
}
