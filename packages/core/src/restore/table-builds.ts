import type pg from 'pg';
import type { BackupTableKey } from '../backup-format/tables.js';
import { isAppError } from '../errors.js';
import type { BackupRunDeps } from '../export/run-backup.js';
import { reachFailpoint } from '../failpoints.js';
import { addForeignKeys, buildIndex, finishTable, planTable, type BuiltTable } from './build.js';
import { allowIndexBuildWorkers } from '../sql/dialect.js';
import { BuilderPool } from './builder-pool.js';
import { invalidBackup, type Problem } from './problems.js';

export type TableBuildsDeps = Pick<BackupRunDeps, 'logger' | 'failpoints'>;

/**
 * The staged tables being built on the builder connections while the file is still read, and the
 * state their builds share. {@link add} each table as soon as it is staged; {@link settle} once the
 * file is read; {@link close} always, before the connections go back to the pool.
 */
export class TableBuilds {
  private readonly pool: BuilderPool;
  /** In file order: problems are reported, and built tables returned, in that order. */
  private readonly builds: Promise<BuiltTable>[] = [];
  /** In the order they finished: the foreign keys among these are added as each one finishes. */
  private readonly built: BuiltTable[] = [];
  /** Foreign keys already added (or being added), so two connections never add the same one. */
  private readonly claimed = new Set<string>();
  /** Set once the file is read: from then on the builds alone compete for the cores. */
  private readDone = false;
  /** The parallel workers each connection's builds may use now (0 until the file is read). */
  private readonly workers = new Map<pg.PoolClient, number>();

  constructor(
    private readonly deps: TableBuildsDeps,
    private readonly clients: pg.PoolClient[],
    private readonly schema: string,
    /** When the restore started, for the timings in the debug log. */
    private readonly started: number,
  ) {
    this.pool = new BuilderPool(clients);
  }

  /** Queues the build of a staged table; its outcome is collected by {@link settle}. */
  add(key: BackupTableKey, rows: number, opts: { typed: boolean; taggedJson: boolean }): void {
    // Held: between the steps of one table nothing may be queued, and a closed pool must not end there.
    const build = this.pool.hold(() => this.build(key, rows, opts));
    // Outcomes are collected with allSettled; until then a rejection is not unhandled.
    build.catch(() => {});
    this.builds.push(build);
  }

  /**
   * The file is read: no COPY competes for the cores any more. From now on an index build that starts
   * with no other build queued behind it (a builder would otherwise sit idle) may use one parallel worker.
   */
  fileRead(): void {
    this.readDone = true;
  }

  /**
   * Waits for every build. Returns the built tables in file order.
   * @throws the problems of every table that failed, in file order (see {@link throwProblems})
   */
  async settle(): Promise<BuiltTable[]> {
    const outcomes = await this.close();
    throwProblems(outcomes);
    return outcomes.map((o) => (o as PromiseFulfilledResult<BuiltTable>).value);
  }

  /**
   * Once settled: adds the foreign keys no build could add (a parent built later, or only in the
   * live tables), on the first builder connection.
   * @throws AppError INVALID_BACKUP_FILE naming rows that refer to nothing
   */
  async addRemainingForeignKeys(built: BuiltTable[]): Promise<void> {
    await addForeignKeys(this.clients[0]!, this.schema, built, { claimed: this.claimed, final: true });
  }

  /** No more tables; resolves when every build has settled, so nothing runs on the connections after. */
  async close(): Promise<PromiseSettledResult<BuiltTable>[]> {
    await this.pool.close();
    return Promise.allSettled(this.builds);
  }

  /**
   * Converts and plans the table, then builds each of its indexes on whichever connection is free (a
   * big table's indexes side by side), then attaches its keys, gathers its statistics and adds the
   * foreign keys among the tables built so far. Rejects with its first failure.
   */
  private async build(
    key: BackupTableKey,
    rows: number,
    opts: { typed: boolean; taggedJson: boolean },
  ): Promise<BuiltTable> {
    const plan = await this.pool.run((c) => planTable(c, this.schema, key, rows, opts));
    // Once one index fails the others still queued are skipped: the table's outcome is that failure.
    let failed = false;
    await Promise.all(
      plan.indexes.map((step) =>
        this.pool.run(async (c) => {
          if (failed) return;
          try {
            await reachFailpoint(this.deps, 'restore.building');
            await this.useIdleCore(c);
            await buildIndex(c, this.schema, plan, step);
          } catch (err) {
            failed = true;
            throw err;
          }
        }),
      ),
    );
    return this.pool.run(async (c) => {
      const built = await finishTable(c, this.schema, plan);
      this.deps.logger.debug({ table: key, rows, ms: Date.now() - this.started }, 'restore: table built');
      // The references between tables built so far are checked now, while the file is still read.
      this.built.push(built);
      await addForeignKeys(c, this.schema, this.built, { claimed: this.claimed, final: false });
      return built;
    });
  }

  /**
   * During the read the builders share the cores with the COPY backends, so each builds alone. After it,
   * a build with nothing queued behind it leaves another builder idle (the tail of the restore): that one
   * may take PostgreSQL's parallel worker, so the last big indexes use both cores.
   */
  private async useIdleCore(c: pg.PoolClient): Promise<void> {
    const workers = this.readDone && this.pool.queued < this.clients.length - 1 ? 1 : 0;
    if ((this.workers.get(c) ?? 0) === workers) return;
    await allowIndexBuildWorkers(c, workers);
    this.workers.set(c, workers);
  }
}

/** Several tables may be wrong at once: report the problems of all of them, in file order. */
function throwProblems(outcomes: PromiseSettledResult<BuiltTable>[]): void {
  const errors = outcomes
    .filter((o): o is PromiseRejectedResult => o.status === 'rejected')
    .map((o) => o.reason as Error);
  if (errors.length === 0) return;
  const problems = errors.flatMap((e) =>
    isAppError(e) && e.code === 'INVALID_BACKUP_FILE' ? ((e.details as { problems?: Problem[] })?.problems ?? []) : [],
  );
  if (problems.length === 0 || problems.length < errors.length) throw errors[0]!;
  throw invalidBackup(problems);
}
