// Which restore kinds the wizard offers: what the server can do (GET /capabilities) and what the point supports.

export type RestoreKind = 'image' | 'snapshot' | 'ebs-volume' | 'instance';

export interface Capabilities {
  auth: 'token' | 'cognito';
  runNow: boolean;
  planning: boolean;
  restores: { image: boolean; ebsVolume: boolean; instance: boolean; snapshot: boolean };
}

/** A server without GET /capabilities is a local server of before it: image restores only. */
export const LOCAL_CAPABILITIES: Capabilities = {
  auth: 'token',
  runNow: true,
  planning: true,
  restores: { image: true, ebsVolume: false, instance: false, snapshot: false },
};

export const KIND_LABELS: Record<RestoreKind, string> = {
  image: 'Image file on this server',
  snapshot: 'EBS snapshots',
  'ebs-volume': 'New EBS volume',
  instance: 'New instance',
};

export const ALL_KINDS: RestoreKind[] = ['image', 'snapshot', 'ebs-volume', 'instance'];

export function serverOffers(caps: Capabilities, kind: RestoreKind): boolean {
  const r = caps.restores;
  return { image: r.image, snapshot: r.snapshot, 'ebs-volume': r.ebsVolume, instance: r.instance }[kind];
}

/**
 * The kinds offered for a point: those the server offers and the point supports (its restoreKinds;
 * a point without that list, from a server of before it, supports every kind but instance).
 */
export function offeredKinds(caps: Capabilities, point: { restoreKinds?: string[] }): RestoreKind[] {
  return ALL_KINDS.filter((k) => serverOffers(caps, k) && (point.restoreKinds ? point.restoreKinds.includes(k) : k !== 'instance'));
}

/** Why a kind is not offered for a point, for the hint under the choices. */
export function unofferedReason(caps: Capabilities, kind: RestoreKind): string {
  if (!serverOffers(caps, kind)) return kind === 'image' ? 'image files are restored by a local server' : 'available on AWS deployments';
  return kind === 'instance' ? 'needs a point of an instance with its recorded configuration' : 'not supported for this point';
}
