// Tag keys and values that Cloudkeep's IAM conditions rely on (shared by the member role and the worker).
/** Every snapshot Cloudkeep creates carries MANAGED_TAG_KEY=MANAGED_TAG_VALUE; delete and read rights are conditioned on it. */
export const MANAGED_TAG_KEY = 'cloudkeep:managed';
export const MANAGED_TAG_VALUE = 'true';
/** Instances carrying this tag (any value) may receive pre/post snapshot scripts through SSM. */
export const SCRIPTS_TAG_KEY = 'cloudkeep:backup';
