/**
 * The two PostgreSQL advisory lock keys the service takes on the live database. They guard different
 * moments of one exclusive operation (restore, reset, undo), so they are two keys, never one.
 */

/**
 * Guards admission: "not in maintenance, no restore/reset/undo queued or running" checked and the `queued`
 * row inserted as one step, so two API replicas cannot both see "nothing running" and both insert.
 * Transaction-level (`pg_advisory_xact_lock`), held for milliseconds, released at COMMIT/ROLLBACK.
 * Taken exclusively by `withOperationLock` (restore, reset, undo and the other exclusive admissions) and shared by
 * `withSharedOperationLockOn` (a backup's create, which may overlap other creates but not those admissions).
 */
export const ADMISSION_LOCK = 0x6d70_7273n;

/**
 * Guards the live tables while they are replaced: held (session-level, `pg_try_advisory_lock`) by the one
 * worker running a restore, reset or undo, and by restore-point housekeeping and crash recovery, which must
 * not judge an operation another worker is still running. Dies with its connection, so a killed worker
 * never leaves it held.
 */
export const LIVE_TABLES_LOCK = 0x6d70_7275;
