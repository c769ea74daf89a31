// The control plane's CloudWatch metrics: names shared by the handlers that emit them and the alarms in infra/.

/** CloudWatch namespace of the metrics the control plane emits. */
export const METRICS_NAMESPACE = 'Cloudkeep';
/** Sessions that ended with any resource unprotected (status failed or partial); the alarm watches it. */
export const FAILED_SESSIONS_METRIC = 'FailedSessions';

/** The counts a finished session adds: 1 failed session when any resource failed. */
export function sessionMetrics(status: string): Array<{ name: string; value: number }> {
  return status === 'failed' || status === 'partial' ? [{ name: FAILED_SESSIONS_METRIC, value: 1 }] : [];
}
