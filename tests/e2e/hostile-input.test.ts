import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHostileCorpus, docText, tableHashes, waitFor, type BackupDocument, type HostileCase } from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// A generated corpus of damaged backups sent through the real API and worker, as uploads and as
// { backupData } bodies. Every one must be refused plainly, with nothing changed and nobody locked out.
const SEED = 11;
/**
 * Restores run one at a time and a refused one costs seconds of worker time, so the suite
 * sends a deterministic sample: PER_FAMILY cases of each family, spread evenly over it, each as an
 * upload and (documents only) as a { backupData } body. HOSTILE_CORPUS=all sends every case both ways
 * (about an hour on a loaded 2-core machine; docs/reliability.md has the figures).
 */
const PER_FAMILY = process.env.HOSTILE_CORPUS === 'all' ? Infinity : 2;

/** Up to `n` cases per family, evenly spread, in corpus order. */
function sample(corpus: HostileCase[], n: number): HostileCase[] {
  const byFamily = new Map<string, HostileCase[]>();
  for (const c of corpus) byFamily.set(c.family, [...(byFamily.get(c.family) ?? []), c]);
  const picked = new Set<number>();
  for (const cases of byFamily.values()) {
    const take = Math.min(n, cases.length);
    for (let i = 0; i < take; i++) picked.add(cases[Math.floor((i * cases.length) / take)]!.index);
  }
  return corpus.filter((c) => picked.has(c.index));
}
const DOMAIN = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs', 'sessions'];

let stack: E2eStack;
let token: string;
let base: BackupDocument;
let backupId: string;

type Job = { state: string; error?: string | null; result?: unknown; problems?: unknown[] | null };
type Outcome =
  | { kind: 'http'; status: number; body: { success?: boolean; error?: { code?: string; message?: string } } }
  | { kind: 'job'; job: Job };

const UNREADABLE = /Interrupted|Internal|invocation|prisma|unexpected error|\n|at .+\.(ts|js|mjs):\d+/i;

/**
 * What "refused plainly" means, in one place: a 4xx with the error envelope, or a job that ended
 * `failed` with a readable one-line error (no ORM text, no "Internal", no "Interrupted") and, for an
 * invalid file, its problems in the job answer's `problems` (never left inside `result`).
 * Returns a complaint, or null when the refusal is readable.
 */
function expectReadableRefusal(outcome: Outcome): string | null {
  if (outcome.kind === 'http') {
    const { status, body } = outcome;
    if (status < 400 || status >= 500) return `HTTP ${status}`;
    if (body?.success !== false || !/^[A-Z_]+$/.test(body.error?.code ?? '') || !body.error?.message)
      return `HTTP ${status} without the error envelope`;
    if (UNREADABLE.test(body.error.message)) return `HTTP ${status} unreadable: ${body.error.message.slice(0, 200)}`;
    return null;
  }
  const { job } = outcome;
  if (job.state !== 'failed') return `job ${job.state}`;
  const error = job.error ?? '';
  if (error.length < 10 || UNREADABLE.test(error)) return `job error unreadable: ${error.slice(0, 300)}`;
  const problems = job.problems;
  if (job.result !== null && job.result !== undefined)
    return `a failed job with a result: ${JSON.stringify(job.result).slice(0, 200)}`;
  if (/not valid/.test(error) && !(Array.isArray(problems) && problems.length > 0))
    return `job error without structured problems: ${error.slice(0, 200)}`;
  return null;
}

async function hashes() {
  return tableHashes(stack.db.pool, DOMAIN);
}

/** Sends one request and, when it was accepted, waits for the job's end. */
async function attempt(send: () => Promise<Response>): Promise<Outcome> {
  const res = await send();
  const text = await res.text();
  const body = text ? JSON.parse(text) : {};
  if (res.status !== 202) return { kind: 'http', status: res.status, body };
  // Polled quickly: restores run one at a time, so the corpus time is the sum of these waits.
  let last: unknown;
  const job = await waitFor(
    async () => {
      const res = await api().json<Job>('GET', `/api/backup/jobs/${body.data.jobId}`);
      last = res.body;
      return res.body.data?.state === 'failed' || res.body.data?.state === 'completed' ? res.body.data : undefined;
    },
    60_000,
    20,
  ).catch((err: Error) => {
    throw new Error(
      `${err.message}; last status ${JSON.stringify(last)}; worker said:\n${stack.worker.output().slice(-3000)}`,
    );
  });
  return { kind: 'job', job };
}

const api = () => client(stack.api, token);
const asUpload = (bytes: Buffer, name: string) => () => {
  const form = new FormData();
  form.append('skipSafetyBackup', 'true');
  form.append('file', new Blob([bytes]), name);
  return api().raw('/api/backup/restore', { method: 'POST', body: form });
};
const asBody = (c: HostileCase) => () =>
  api().raw('/api/backup/restore', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"backupData":${docText(c.doc)},"skipSafetyBackup":true}`,
  });

beforeAll(async () => {
  stack = await startE2eStack({
    scale: 0.01,
    seed: SEED,
    env: { RESTORE_BODY_LIMIT_MB: '2', RESTORE_UPLOAD_LIMIT_MB: '64' },
  });
  token = await stack.login();
  const created = await client(stack.api, token).json<{ backupId: string; jobId: string }>(
    'POST',
    '/api/backup/create',
    { includeAuditLogs: true },
  );
  backupId = created.body.data.backupId;
  expect((await waitForJob(stack.api, token, created.body.data.jobId)).state).toBe('completed');
  const file = await client(stack.api, token).raw(`/api/backup/download/${backupId}`);
  base = JSON.parse(Buffer.from(await file.arrayBuffer()).toString('utf8')) as BackupDocument;
}, 120_000);

afterAll(() => stack?.stop());

describe('hostile input', () => {
  it('refuses every case of the corpus plainly, changing nothing', async () => {
    const corpus = buildHostileCorpus(base, { seed: SEED });
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
    const before = await hashes();
    const counts: Record<
      string,
      { inCorpus: number; cases: number; sent: number; http4xx: number; jobFailed: number; bad: number }
    > = {};
    for (const c of corpus)
      (counts[c.family] ??= { inCorpus: 0, cases: 0, sent: 0, http4xx: 0, jobFailed: 0, bad: 0 }).inCorpus++;
    const complaints: string[] = [];
    const started = Date.now();
    for (const c of sample(corpus, PER_FAMILY)) {
      const row = counts[c.family]!;
      row.cases++;
      const ways: Array<[string, () => Promise<Response>]> = [];
      if (c.file) ways.push(['upload', asUpload(c.file, c.family.includes('gzip') ? 'backup.json.gz' : 'backup.json')]);
      if (c.doc !== undefined) {
        ways.push(['upload', asUpload(Buffer.from(docText(c.doc)), 'backup.json')]);
        ways.push(['body', asBody(c)]);
      }
      for (const [way, send] of ways) {
        row.sent++;
        const outcome = await attempt(send);
        if (outcome.kind === 'http') row.http4xx++;
        else row.jobFailed++;
        const complaint = expectReadableRefusal(outcome);
        const after = await hashes();
        const status = await api().json<{ maintenance: { active: boolean } }>('GET', '/api/system/status');
        const problems = [
          complaint,
          JSON.stringify(after) === JSON.stringify(before) ? null : 'data changed',
          status.body.data?.maintenance?.active === false ? null : `maintenance ${JSON.stringify(status.body)}`,
          alive(stack.worker.pid) ? null : 'worker died',
        ].filter(Boolean);
        if (problems.length > 0) {
          row.bad++;
          complaints.push(`#${c.index} ${c.family} (${way}) ${c.description.slice(0, 120)}: ${problems.join('; ')}`);
        }
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const report = { seed: SEED, corpus: corpus.length, seconds, perFamily: counts, complaints };
    await writeFile(
      process.env.HOSTILE_REPORT ?? `${stack.env.root}/hostile-report.json`,
      JSON.stringify(report, null, 2),
    ).catch(() => {});
    console.log(`hostile corpus: ${corpus.length} cases, sample sent in ${seconds} s`);
    console.table(counts);
    expect(complaints).toEqual([]);
  }, 600_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
