// Maps errors to exit codes and to messages a user can act on.
import { CommanderError } from 'commander';
import { AbortedError, CorruptObjectError, InvalidArgumentError, RepositoryNotFoundError, UnsupportedFormatError, WrongKeyError } from '../core/errors.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2, noRepository: 3, wrongKey: 4, damaged: 5, unsupported: 6, aborted: 130 } as const;

/** Raised when a check (verify) ran fine but found problems. */
export class CheckFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailedError';
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof InvalidArgumentError || err instanceof CommanderError) return EXIT.usage;
  if (err instanceof RepositoryNotFoundError) return EXIT.noRepository;
  if (err instanceof WrongKeyError) return EXIT.wrongKey;
  if (err instanceof CorruptObjectError || err instanceof CheckFailedError) return EXIT.damaged;
  if (err instanceof UnsupportedFormatError) return EXIT.unsupported;
  if (err instanceof AbortedError) return EXIT.aborted;
  return EXIT.failure;
}

const HINTS: Array<[new (...a: never[]) => Error, string]> = [
  [WrongKeyError, 'check CLOUDKEEP_PASSPHRASE or --passphrase-file'],
  [CorruptObjectError, 'run "cloudkeep repo verify --full" to list every damaged object'],
];

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const hint = HINTS.find(([type]) => err instanceof type)?.[1];
  return `error: ${err.message}${hint ? `\nhint: ${hint}` : ''}`;
}
