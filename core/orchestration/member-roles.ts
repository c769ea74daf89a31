// Names of Cloudkeep's roles in a member account: the member role the orchestration assumes, and the
// read-only role next to it that the console's API assumes (infra/member-account-role.ts creates both).
import { InvalidArgumentError } from '../errors.ts';

/** The read-only role's name next to a member role. */
export const readRoleName = (memberRoleName: string): string => `${memberRoleName}-read`;

/** The read-only role's ARN next to the member role `memberRoleArn` (arn:aws:iam::<account>:role/<name>). */
export function readRoleArn(memberRoleArn: string): string {
  const match = /^(arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*)([\w+=,.@-]+)$/.exec(memberRoleArn);
  if (!match) throw new InvalidArgumentError(`member role ${JSON.stringify(memberRoleArn)}: expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
  return `${match[1]}${readRoleName(match[2])}`;
}
