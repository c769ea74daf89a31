#!/bin/bash
# Cloudkeep worker boot script (run once at boot by cloudkeep-worker.service): user data -> task file, run the worker, power off.
# Installs nothing: the image ships Node 22+ and the bundle (/opt/cloudkeep). The launch template sets
# instance-initiated shutdown behavior = terminate, so `shutdown -h now` ends (and bills) the instance.
set -u
BUNDLE_DIR="${CLOUDKEEP_BUNDLE_DIR:-/opt/cloudkeep}"
TASK_FILE="${CLOUDKEEP_TASK_FILE:-/etc/cloudkeep/task.json}"
NODE="${CLOUDKEEP_NODE:-node}"
log() { echo "{\"level\":\"INFO\",\"service\":\"cloudkeep-bootstrap\",\"message\":\"$1\"}"; }

fetch_user_data() {
  local token
  token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) || return 1
  curl -sf -H "X-aws-ec2-metadata-token: ${token}" http://169.254.169.254/latest/user-data
}

rc=0
if [ -z "${CLOUDKEEP_SKIP_FETCH:-}" ]; then
  install -d -m 700 "$(dirname "$TASK_FILE")"
  umask 077
  if ! fetch_user_data > "$TASK_FILE.tmp"; then
    log "cannot read user data from the instance metadata service"
    rc=2
  else
    mv "$TASK_FILE.tmp" "$TASK_FILE"
  fi
fi
if [ "$rc" -eq 0 ]; then
  log "starting the worker"
  "$NODE" "$BUNDLE_DIR/worker-main.js" --task "$TASK_FILE"
  rc=$?
  log "worker exited with code ${rc}"
fi
# The worker's result is already reported to Step Functions; the instance is done either way.
if [ -z "${CLOUDKEEP_NO_SHUTDOWN:-}" ]; then
  shutdown -h now
fi
exit "$rc"
