import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, Option } from 'commander';
import { ApiClient } from './api.js';
import { credentialsPath, forgetCredentials, loadCredentials, saveCredentials } from './credentials.js';
import { CliError, EXIT } from './exit-codes.js';
import { ask, readStdinLine } from './prompt.js';
import { multipartUpload } from './upload.js';
import { judgeJob, watchJob, type JobStatus } from './watch.js';

interface Globals {
  json: boolean;
}

/** What a command prints: JSON for scripts (`--json`), else the lines for a person. */
function print(globals: Globals, value: unknown, lines: () => string[]): void {
  process.stdout.write(globals.json ? `${JSON.stringify(value, null, 2)}\n` : `${lines().join('\n')}\n`);
}

async function session(): Promise<ApiClient> {
  const credentials = await loadCredentials(credentialsPath());
  return new ApiClient(credentials.url, credentials.token);
}

const mb = (bytes: number | null | undefined) =>
  bytes == null
    ? '—'
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function describeStatus(s: JobStatus): string[] {
  const lines = [
    `job ${s.jobId} (${s.kind}): ${s.state}${s.progress?.percent != null ? ` ${s.progress.percent}%` : ''}`,
  ];
  if (s.error) lines.push(`error: ${s.error}`);
  if (s.result)
    for (const [k, v] of Object.entries(s.result))
      lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return lines;
}

/** Waits for a job unless told not to, prints its final status, and turns a failure into its exit code. */
async function follow(api: ApiClient, globals: Globals, accepted: { jobId: string }, wait: boolean): Promise<void> {
  if (!wait) {
    print(globals, accepted, () => [`queued: job ${accepted.jobId} (mp-backup status ${accepted.jobId})`]);
    return;
  }
  const final = await watchJob(api, accepted.jobId, { quiet: globals.json });
  print(globals, final, () => describeStatus(final));
  judgeJob(final);
}

export function buildProgram(): Command {
  const program = new Command('mp-backup')
    .description('The Millennium Potters backup service from a terminal (talks to its API)')
    .option('--json', 'print JSON for scripts instead of text', false)
    .showHelpAfterError()
    .exitOverride();
  const globals = (): Globals => program.opts<Globals>();

  program
    .command('login')
    .description('log in as an admin; keeps the API address and a token in a file only you can read (0600)')
    .requiredOption('--url <address>', 'the API, e.g. http://127.0.0.1:3000')
    .option('--username <name>', 'admin user name (asked when not given)')
    .option('--password-stdin', 'read the password from standard input instead of asking', false)
    .action(async (opts: { url: string; username?: string; passwordStdin: boolean }) => {
      const username = opts.username ?? (await ask('username: '));
      const password = opts.passwordStdin ? await readStdinLine() : await ask('password: ', { hidden: true });
      const api = new ApiClient(opts.url, null);
      const answer = await api.json<{
        token: string;
        expiresAt: string | null;
        user: { role: string; mustChangePassword?: boolean };
      }>('POST', '/api/auth/login', { username, password });
      if (answer.user.role !== 'ADMIN')
        throw new CliError(`${username} is not an admin: the backup service is for admins only`, EXIT.AUTH);
      if (answer.user.mustChangePassword) {
        if (!process.stdin.isTTY)
          throw new CliError(
            'This account must change its password first: run `mp-backup login` in a terminal, or use the console',
            EXIT.AUTH,
          );
        const next = await ask('this password must be changed now; new password: ', { hidden: true });
        const again = await ask('new password again: ', { hidden: true });
        if (next !== again) throw new CliError('The two new passwords differ; nothing was changed', EXIT.USAGE);
        await new ApiClient(opts.url, answer.token).json('POST', '/api/auth/change-password', {
          currentPassword: password,
          newPassword: next,
        });
      }
      const file = credentialsPath();
      await saveCredentials(file, { url: opts.url, token: answer.token, username, expiresAt: answer.expiresAt });
      print(globals(), { loggedIn: true, username, url: opts.url, credentials: file }, () => [
        `logged in as ${username} at ${opts.url} (token kept in ${file})`,
      ]);
    });

  program
    .command('logout')
    .description('end the session on the server and forget the token')
    .action(async () => {
      const file = credentialsPath();
      if (existsSync(file)) {
        await (await session()).json('POST', '/api/auth/logout').catch(() => undefined);
        await forgetCredentials(file);
      }
      print(globals(), { loggedOut: true }, () => ['logged out']);
    });

  program
    .command('create')
    .description('take a backup and follow it to the end with a progress bar')
    .option('--audit-logs', 'include the audit logs', false)
    .option('--sessions', 'include the sessions', false)
    .addOption(
      new Option('--location <where>', 'where to keep it').choices(['local', 'cloud', 'both']).default('local'),
    )
    .option('--no-wait', 'answer with the job id at once')
    .action(async (opts: { auditLogs: boolean; sessions: boolean; location: string; wait: boolean }) => {
      const api = await session();
      const accepted = await api.json<{ jobId: string; backupId: string }>('POST', '/api/backup/create', {
        includeAuditLogs: opts.auditLogs,
        includeSessions: opts.sessions,
        location: opts.location,
      });
      await follow(api, globals(), accepted, opts.wait);
    });

  program
    .command('status <job>')
    .description("a job's state, progress, result or error")
    .action(async (job: string) => {
      const status = await (await session()).json<JobStatus>('GET', `/api/backup/jobs/${encodeURIComponent(job)}`);
      print(globals(), status, () => describeStatus(status));
    });

  program
    .command('list')
    .description('the backups, newest first')
    .option('--status <status>', 'only this status (queued, running, completed, partial, failed)')
    .option('--type <type>', 'only this type (manual, scheduled, pre-restore)')
    .option('--limit <n>', 'how many', '20')
    .action(async (opts: { status?: string; type?: string; limit: string }) => {
      const query = new URLSearchParams({
        limit: opts.limit,
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.type ? { type: opts.type } : {}),
      });
      const page = await (await session()).json<{ items: Record<string, unknown>[]; nextCursor: string | null }>(
        'GET',
        `/api/backup/list?${query}`,
      );
      print(globals(), page, () =>
        page.items.length === 0
          ? ['no backups']
          : page.items.map((b) =>
              [b.id, b.createdAt, b.type, b.status, b.location, mb(b.fileSize as number | null)].join('  '),
            ),
      );
    });

  program
    .command('download <id>')
    .description('download a backup file as stored (a Cloudinary copy through its signed link)')
    .option('-o, --output <file>', 'where to write it (default: its own file name, here)')
    .action(async (id: string, opts: { output?: string }) => {
      const api = await session();
      const res = await api.fetch(`/api/backup/download/${encodeURIComponent(id)}`, { redirect: 'follow' });
      if (!res.ok || !res.body) await api.read(res);
      const named = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '')?.[1];
      const output = opts.output ?? named ?? `${id}.json`;
      const partial = `${output}.part`;
      try {
        await pipeline(
          Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
          createWriteStream(partial),
        );
        await rename(partial, output);
      } catch (err) {
        await rm(partial, { force: true });
        throw new CliError(
          `The download stopped before the end; nothing was kept: ${(err as Error).message}`,
          EXIT.UNAVAILABLE,
        );
      }
      const size = (await stat(output)).size;
      print(globals(), { file: output, bytes: size }, () => [`wrote ${output} (${mb(size)})`]);
    });

  program
    .command('verify <fileOrId>')
    .description('check a local backup file offline, or have the worker verify a stored backup by id')
    .action(async (target: string) => {
      if (existsSync(target)) {
        // Loaded only here: the core package is large, and every other command just talks HTTP.
        const { inspectBackupFile, parseKeyConfig } = await import('@mp/core');
        const { keyring } = parseKeyConfig(process.env.BACKUP_ENCRYPTION_KEY, process.env.BACKUP_DECRYPTION_KEYS);
        const report = await inspectBackupFile(createReadStream(target), keyring);
        print(globals(), report, () => [
          `${target}: ${report.ok ? 'sound' : 'DAMAGED'} (${mb(report.bytes)}, sha256 ${report.sha256}` +
            `${report.encrypted ? `, encrypted with key ${report.keyId ?? '?'}` : ''}` +
            `${report.compression ? `, ${report.compression}` : ''})`,
          ...Object.entries(report.counts).map(([t, n]) => `  ${t}: ${n} rows`),
          ...report.problems.map((p) => `  problem: ${p}`),
        ]);
        if (!report.ok) throw new CliError(`${target} is not a sound backup`, EXIT.INVALID_BACKUP);
        return;
      }
      const api = await session();
      const accepted = await api.json<{ jobId: string }>('POST', `/api/backup/${encodeURIComponent(target)}/verify`);
      const final = await watchJob(api, accepted.jobId, { quiet: globals().json });
      print(globals(), final, () => describeStatus(final));
      judgeJob(final);
      if ((final.result as { ok?: boolean } | null)?.ok === false)
        throw new CliError(`Backup ${target} failed verification`, EXIT.INVALID_BACKUP);
    });

  program
    .command('restore <fileOrId>')
    .description('replace all data with a backup (a local file, uploaded; or a stored backup by id)')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--skip-safety-backup', 'do not write a pre-restore backup file', false)
    .option('--allow-no-admin', 'restore even if no admin could log in afterwards', false)
    .action(async (target: string, opts: { yes: boolean; skipSafetyBackup: boolean; allowNoAdmin: boolean }) => {
      const api = await session();
      const isFile = existsSync(target);
      const what = isFile ? `the file ${target}` : `stored backup ${target}`;
      if (!opts.yes) {
        if (!process.stdin.isTTY)
          throw new CliError(
            'A restore replaces every table and logs everyone out: confirm with --yes',
            EXIT.CANCELLED,
          );
        const answer = await ask(
          `This replaces ALL live data (users, unions, members, loan types, loans, repayments, audit logs) with ` +
            `${what}.\n` +
            'The tables it replaces are kept as a safety point first. Everyone, you included, is logged out.\nType ' +
            '"restore" to go on: ',
        );
        if (answer.trim() !== 'restore') throw new CliError('Cancelled; nothing was changed', EXIT.CANCELLED);
      }
      let accepted: { jobId: string };
      if (isFile) {
        const fields = { skipSafetyBackup: String(opts.skipSafetyBackup), allowNoAdmin: String(opts.allowNoAdmin) };
        const upload = await multipartUpload(target, fields, { quiet: globals().json });
        const res = await api.fetch('/api/backup/restore', {
          method: 'POST',
          headers: { 'content-type': upload.contentType, 'content-length': String(upload.length) },
          body: upload.body,
          duplex: 'half',
        });
        accepted = await api.read<{ jobId: string }>(res);
      } else {
        accepted = await api.json('POST', '/api/backup/restore', {
          backupId: target,
          skipSafetyBackup: opts.skipSafetyBackup,
          allowNoAdmin: opts.allowNoAdmin,
        });
      }
      let final: JobStatus;
      try {
        final = await watchJob(api, accepted.jobId, { quiet: globals().json });
      } catch (err) {
        // The swap ends every session in the same transaction: a 401 after the restore started means it landed.
        if (err instanceof CliError && err.exitCode === EXIT.AUTH) {
          await forgetCredentials(credentialsPath());
          print(globals(), { jobId: accepted.jobId, state: 'completed', sessionsEnded: true }, () => [
            `The restore replaced the data and ended every session, this one included (job ${accepted.jobId}).`,
            'Log in again (mp-backup login) and run `mp-backup status <job>` for its report.',
          ]);
          return;
        }
        throw err;
      }
      print(globals(), final, () => describeStatus(final));
      judgeJob(final);
    });

  const schedule = program.command('schedule').description('the backup schedule');
  schedule
    .command('get', { isDefault: true })
    .description('the schedule, with its last and next run')
    .action(async () => {
      const current = await (await session()).json<Record<string, unknown>>('GET', '/api/backup/schedule');
      print(globals(), current, () =>
        Object.entries(current).map(
          ([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`,
        ),
      );
    });
  schedule
    .command('set')
    .description('change the schedule (fields not given keep their value)')
    .addOption(new Option('--frequency <f>', 'how often, at 02:00').choices(['disabled', 'daily', 'weekly', 'monthly']))
    .addOption(new Option('--location <where>', 'where scheduled backups go').choices(['local', 'cloud', 'both']))
    .option('--retention-days <n>', 'days a backup is kept', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1)
        throw new CliError('--retention-days must be a whole number of days, 1 or more', EXIT.USAGE);
      return n;
    })
    .option('--audit-logs', 'include audit logs')
    .option('--no-audit-logs', 'leave audit logs out')
    .option('--sessions', 'include sessions')
    .option('--no-sessions', 'leave sessions out')
    .action(
      async (opts: {
        frequency?: string;
        location?: string;
        retentionDays?: number;
        auditLogs?: boolean;
        sessions?: boolean;
      }) => {
        const body = {
          ...(opts.frequency ? { frequency: opts.frequency } : {}),
          ...(opts.location ? { location: opts.location } : {}),
          ...(opts.retentionDays ? { retentionDays: opts.retentionDays } : {}),
          ...(opts.auditLogs !== undefined ? { includeAuditLogs: opts.auditLogs } : {}),
          ...(opts.sessions !== undefined ? { includeSessions: opts.sessions } : {}),
        };
        if (Object.keys(body).length === 0)
          throw new CliError(
            'Nothing to change: give --frequency, --location, --retention-days, --[no-]audit-logs or --[no-]sessions',
            EXIT.USAGE,
          );
        const updated = await (await session()).json<Record<string, unknown>>('PUT', '/api/backup/schedule', body);
        print(globals(), updated, () => [
          'schedule updated',
          ...Object.entries(updated).map(
            ([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`,
          ),
        ]);
      },
    );

  program
    .command('health')
    .description('are the backups healthy? (exit code 11 when not)')
    .action(async () => {
      const health = await (await session()).json<{
        healthy: boolean;
        checks: { name: string; ok: boolean; message: string }[];
      }>('GET', '/api/backup/health');
      print(globals(), health, () => [
        health.healthy ? 'healthy' : 'UNHEALTHY',
        ...health.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.message}`),
      ]);
      if (!health.healthy) throw new CliError('The backups are not healthy', EXIT.UNHEALTHY);
    });

  return program;
}

/** Runs the CLI on `argv`; answers the exit code (see {@link EXIT}). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof CliError) {
      process.stderr.write(`mp-backup: ${err.message}\n`);
      if (program.opts<Globals>().json && err.details)
        process.stdout.write(
          `${JSON.stringify({ error: err.message, exitCode: err.exitCode, ...err.details }, null, 2)}\n`,
        );
      return err.exitCode;
    }
    process.stderr.write(`mp-backup: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.FAILURE;
  }
}
