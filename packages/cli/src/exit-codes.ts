/** What `mp-backup` exits with; scripts may rely on these. */
export const EXIT = {
  OK: 0,
  /** Something unexpected (a bug, or an answer the CLI does not understand). */
  FAILURE: 1,
  /** Wrong arguments. */
  USAGE: 2,
  /** Not logged in, the session expired, or the account is not an admin (HTTP 401/403). */
  AUTH: 3,
  /** The backup or job does not exist (HTTP 404). */
  NOT_FOUND: 4,
  /** The API refused the request (another 4xx: bad input, maintenance mode, a conflict). */
  REFUSED: 5,
  /** The API could not be reached, or answered 5xx. */
  UNAVAILABLE: 6,
  /** The job ran and failed (a refused restore, a failed backup). */
  JOB_FAILED: 7,
  /** The job finished only in part (e.g. the local copy is good, the cloud upload failed). */
  PARTIAL: 8,
  /** `verify` found the backup damaged. */
  INVALID_BACKUP: 9,
  /** The user answered no to a confirmation (or none could be asked: pass --yes). */
  CANCELLED: 10,
  /** `health` answered unhealthy. */
  UNHEALTHY: 11,
} as const;

/** An error that ends the command with a message for the person and a meaningful exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly details?: { code?: string; problems?: unknown[] },
  ) {
    super(message);
    this.name = 'CliError';
  }
}
