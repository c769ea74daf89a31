// Tag keys and values that Cloudkeep's IAM conditions rely on (shared by the member role and the worker).
/** Every snapshot Cloudkeep creates carries MANAGED_TAG_KEY=MANAGED_TAG_VALUE; delete and read rights are conditioned on it. */
export const MANAGED_TAG_KEY = 'cloudkeep:managed';
export const MANAGED_TAG_VALUE = 'true';
/** Instances carrying this tag (any value) may receive pre/post snapshot scripts through SSM. */
export const SCRIPTS_TAG_KEY = 'cloudkeep:backup';
/** Fixed names shared by the control plane and the worker stack (no cross-stack reference: the worker stack depends on the control plane). */
export const WORKER_LAUNCH_TEMPLATE_NAME = 'cloudkeep-worker';
/** CloudFormation names the worker role `CloudkeepWorker-Role…`: StartWorker may pass only such roles to EC2. */
export const WORKER_ROLE_NAME_PREFIX = 'CloudkeepWorker-';
/** Physical name of the shared orchestration role the member-account roles trust. */
export const ORCHESTRATION_ROLE_NAME = 'cloudkeep-orchestration';
