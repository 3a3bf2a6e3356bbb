import { createHmac, randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUsablePasswordHash, needsRehash, verifyPassword } from '@mp/core';
import { QUEUES } from '@mp/jobs';
import { createUser, createUserAndLogin, loginAs, scanQueueData, tableHashes, type ApiTestContext } from '@mp/testing';
import { buildApp } from '../../services/api/src/app.js';
import { registeredRoutes, startApiApp, stopApiApp, type RegisteredRoute } from './api-harness.js';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const hs256 = (head: string, secret: string) => createHmac('sha256', secret).update(head).digest('base64url');
/** A hand-made JWT: `alg` HS256 signed with `secret`, or `none` with an empty signature. */
function forge(payload: object, secret: string | null): string {
  const head = `${b64({ alg: secret === null ? 'none' : 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${secret === null ? '' : hs256(head, secret)}`;
}

/** Routes anyone may call. Every other route the app registers must refuse each bad credential below. */
const PUBLIC = new Set([
  'GET /healthz',
  'GET /healthz/backups',
  'GET /readyz',
  'GET /metrics',
  'POST /api/auth/login',
  'POST /api/auth/reset-claim',
]);
/**
 * The console's static files (GET /admin, /admin/, /admin/*, which the tree print shows as /admin*): public, it logs in
 * through the API.
 */
const CONSOLE_STATIC = /^\/admin(\/|\/?\*)?$/;
/** Routes for any signed-in user (their own session and password), so a non-admin role is not refused there. */
const ANY_ROLE = new Set(['POST /api/auth/logout', 'POST /api/auth/change-password']);

/** Every protected route: all the app registered but the public ones, /docs and the console's static files. */
function allRoutes(app: FastifyInstance): RegisteredRoute[] {
  return registeredRoutes(app).filter(
    (r) => !r.pattern.startsWith('/docs') && !CONSOLE_STATIC.test(r.pattern) && !PUBLIC.has(`${r.method} ${r.pattern}`),
  );
}

/** Everything a refused request must leave as it was: queues, bookkeeping and domain tables, files. */
async function snapshot(ctx: ApiTestContext, planted: string) {
  const queues: Record<string, unknown> = {};
  for (const name of Object.values(QUEUES)) {
    const q = ctx.deps.producer.queue(name);
    queues[name] = { counts: await q.getJobCounts(), schedulers: await q.getJobSchedulersCount() };
  }
  const tables = await tableHashes(ctx.db.pool, [
    'users',
    'unions',
    'union_members',
    'loan_types',
    'loans',
    'repayments',
    'audit_logs',
    'sessions',
    'backup_records',
    'operations',
    'maintenance_state',
    'backup_schedules',
  ]);
  const files = async (dir: string) => (existsSync(dir) ? (await readdir(dir)).sort() : []);
  return {
    queues,
    tables,
    backups: await files(ctx.backupDir),
    uploads: await files(ctx.uploadDir),
    planted: existsSync(planted),
  };
}

describe('access: every route refuses every bad credential, and nothing changes', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let tokens: Record<string, string | null>;
  let urls: Record<string, string>;
  let bodies: Record<string, unknown>;
  let planted: string;

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
    const { prisma } = ctx.deps;
    const admin = await createUserAndLogin(app, prisma, 'ADMIN');
    const sid = (await prisma.session.findFirstOrThrow({ where: { userId: admin.user.id } })).id;
    const claims = { sub: admin.user.id, sid, role: 'ADMIN', username: admin.user.username };
    const now = Math.floor(Date.now() / 1000);
    const secret = ctx.deps.config.JWT_SECRET;

    const loggedOut = await createUserAndLogin(app, prisma, 'ADMIN');
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: loggedOut.headers })).statusCode).toBe(
      200,
    );
    const deactivated = await createUserAndLogin(app, prisma, 'ADMIN');
    await prisma.user.update({ where: { id: deactivated.user.id }, data: { isActive: false } });

    tokens = {
      'no token': null,
      'malformed token': 'not.a.jwt',
      'wrong signature': forge({ ...claims, iat: now, exp: now + 600 }, randomBytes(32).toString('base64url')),
      'alg none': forge({ ...claims, iat: now, exp: now + 600 }, null),
      expired: forge({ ...claims, iat: now - 600, exp: now - 60 }, secret),
      SUPERVISOR: (await createUserAndLogin(app, prisma, 'SUPERVISOR')).token,
      CREDIT_OFFICER: (await createUserAndLogin(app, prisma, 'CREDIT_OFFICER')).token,
      'logged-out session': loggedOut.token,
      'deactivated user': deactivated.token,
    };
    // The forged tokens differ from a working one only in what each case names.
    const control = await app.inject({
      method: 'GET',
      url: '/api/backup/list',
      headers: { authorization: `Bearer ${forge({ ...claims, iat: now, exp: now + 600 }, secret)}` },
    });
    expect(control.statusCode).toBe(200);

    // Real targets, so a request that got through would delete, enqueue or serve something.
    const key = `backup_${randomUUID()}.json`;
    await mkdir(ctx.backupDir, { recursive: true });
    await writeFile(join(ctx.backupDir, key), '{"metadata":{},"data":{}}');
    const record = await prisma.backupRecord.create({
      data: {
        filename: key,
        type: 'manual',
        location: 'local',
        status: 'completed',
        fileSize: 25n,
        storage: { local: { key, path: join(ctx.backupDir, key) } },
      },
    });
    planted = join(dirname(ctx.backupDir), 'planted-outside.json');
    await writeFile(planted, 'outside the backup folder');
    urls = { id: record.id, jobId: record.id, entityType: 'user', entityId: admin.user.id, operationId: randomUUID() };
    bodies = {
      'POST /api/backup/create': { labels: { reason: 'access-test' } },
      'POST /api/backup/:id/pin': { note: 'a refused pin changes nothing' },
      'POST /api/backup/restore': { backupId: record.id },
      'POST /api/backup/restore/preview': { backupId: record.id, tables: ['loanTypes'] },
      'POST /api/backup/restore/entity': { backupId: record.id, entityType: 'user', entityId: admin.user.id },
      'POST /api/backup/reset': { confirmationToken: 'DELETE' },
      'PUT /api/backup/schedule': {
        frequency: 'daily',
        location: 'local',
        retentionDays: 7,
        includeAuditLogs: false,
        includeSessions: false,
      },
      'POST /api/auth/change-password': {
        currentPassword: 'Correct-Horse-42-battery',
        newPassword: 'Another-Strong-Pass-99',
      },
    };
  });
  afterAll(() => stopApiApp(ctx, app));

  it('answers 401 or 403 with the error envelope for every protected route × bad credential', async () => {
    const routes = allRoutes(app);
    const names = routes.map((r) => `${r.method} ${r.pattern}`);
    for (const known of [
      'POST /api/backup/create',
      'DELETE /api/backup/:id',
      'GET /api/backup/download/:id',
      'POST /api/backup/reset',
      'GET /api/system/status',
      'POST /api/auth/logout',
      'POST /api/backup/:id/pin',
      'POST /api/backup/:id/unpin',
      'GET /api/backup/retention/preview',
      'POST /api/backup/:id/drill',
      'GET /api/backup/drills',
      'POST /api/backup/restore/:operationId/undo',
      'GET /api/backup/restore/:operationId/undo',
      'DELETE /api/backup/restore/:operationId/restore-point',
      'POST /api/system/queue-dashboard/session',
      'GET /admin/queues/api/queues',
      'PUT /admin/queues/api/queues/:queueName/pause',
    ]) {
      expect(names).toContain(known);
    }
    const before = await snapshot(ctx, planted);
    let tried = 0;
    for (const route of routes) {
      const name = `${route.method} ${route.pattern}`;
      const url = route.pattern.replace(/:(\w+)/g, (_, p: string) => urls[p] ?? randomUUID());
      for (const [who, token] of Object.entries(tokens)) {
        if (ANY_ROLE.has(name) && (who === 'SUPERVISOR' || who === 'CREDIT_OFFICER')) continue;
        const res = await app.inject({
          method: route.method as 'GET',
          url,
          headers: token === null ? {} : { authorization: `Bearer ${token}` },
          ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: (bodies[name] ?? {}) as object }),
        });
        const expected = who === 'SUPERVISOR' || who === 'CREDIT_OFFICER' ? [403, 'FORBIDDEN'] : [401];
        const body = res.json();
        expect([name, who, res.statusCode, body.success]).toEqual([name, who, expected[0], false]);
        if (expected[1]) expect([name, who, body.error.code]).toEqual([name, who, expected[1]]);
        expect(typeof body.error.message).toBe('string');
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(100);
    expect(await snapshot(ctx, planted)).toEqual(before);
  });

  it('refuses ids that are not ids and keys that leave the backup folder, before any file is touched', async () => {
    const admin = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    // A record whose stored key points outside BACKUP_DIR (a tampered row): the storage key rule refuses it.
    const escaping = await ctx.deps.prisma.backupRecord.create({
      data: {
        filename: 'planted-outside.json',
        type: 'manual',
        location: 'local',
        status: 'completed',
        storage: { local: { key: '../planted-outside.json', path: planted } },
      },
    });
    const before = await snapshot(ctx, planted);
    const bad = [
      'not-a-uuid',
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e%2f%2e%2e%2fplanted-outside.json',
      '..%5Cplanted-outside.json',
      `${randomUUID()}%00`,
      '%00',
      '%zz',
      'a'.repeat(5000),
      `${randomUUID().slice(0, 35)}/`,
    ];
    // bull-board's own routes (/admin/queues/…) take its job ids, which are not ours to shape; access to them is
    // proven
    // above.
    const routes = allRoutes(app).filter(
      (r) =>
        /:(id|jobId|entityId|operationId)\b/.test(r.pattern) &&
        !ANY_ROLE.has(`${r.method} ${r.pattern}`) &&
        !r.pattern.startsWith('/admin/queues'),
    );
    expect(routes.length).toBeGreaterThanOrEqual(5);
    for (const route of routes) {
      for (const id of bad) {
        const url = route.pattern.replace(/:(\w+)/g, (_, p: string) => (p === 'entityType' ? 'user' : id));
        const res = await app.inject({
          method: route.method as 'GET',
          url,
          headers: admin.headers,
          ...(route.method === 'POST' ? { payload: {} } : {}),
        });
        expect([
          route.pattern,
          id.slice(0, 40),
          res.statusCode,
          res.statusCode === 400 || res.statusCode === 404,
        ]).toEqual([route.pattern, id.slice(0, 40), res.statusCode, true]);
        expect([id.slice(0, 40), res.json()]).toMatchObject([
          id.slice(0, 40),
          { success: false, error: { code: expect.any(String), message: expect.any(String) } },
        ]);
        expect(res.body).not.toContain('outside the backup folder');
      }
    }
    // Raw `..` segments never match a route.
    for (const url of [
      '/api/backup/download/../../planted-outside.json',
      '/api/backup/download/..%2f..%2fplanted-outside.json',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: admin.headers });
      expect([url, res.statusCode >= 400 && res.statusCode < 500]).toEqual([url, true]);
      expect(res.body).not.toContain('outside the backup folder');
    }
    const download = await app.inject({
      method: 'GET',
      url: `/api/backup/download/${escaping.id}`,
      headers: admin.headers,
    });
    expect([download.statusCode, download.json().error.code]).toEqual([404, 'BACKUP_FILE_MISSING']);
    expect(download.body).not.toContain('outside the backup folder');
    const restoreById = await app.inject({
      method: 'POST',
      url: '/api/backup/restore',
      headers: admin.headers,
      payload: { backupId: '../../planted-outside.json' },
    });
    expect([restoreById.statusCode, restoreById.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
    expect(await snapshot(ctx, planted)).toEqual(before);

    await app.inject({ method: 'DELETE', url: `/api/backup/${escaping.id}`, headers: admin.headers });
    expect(await readFile(planted, 'utf8')).toBe('outside the backup folder');
  });
});

describe('login rate limit across API replicas', () => {
  let ctx: ApiTestContext;
  let first: FastifyInstance;
  let second: FastifyInstance;
  beforeAll(async () => {
    ({ ctx, app: first } = await startApiApp({ env: { LOGIN_RATE_LIMIT: '4' } }));
    second = await buildApp(ctx.deps);
  });
  afterAll(async () => {
    await second?.close();
    await stopApiApp(ctx, first);
  });

  it('counts attempts in Redis, so two API instances share one limit', async () => {
    const { user, password } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
    const attempt = (app: FastifyInstance, pw: string) =>
      app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: pw } });
    for (const app of [first, second, first, second])
      expect((await attempt(app, 'Wrong-password-1')).statusCode).toBe(401);
    for (const app of [first, second]) {
      const limited = await attempt(app, password);
      expect([limited.statusCode, limited.json().error.code]).toEqual([429, 'RATE_LIMITED']);
    }
  });

  it('fails open, with a warning, when Redis does not answer: login neither hangs nor fails', async () => {
    // Only the counters point at a closed port; the queue keeps its Redis, so the context closes cleanly.
    const config = { ...ctx.deps.config, REDIS_URL: 'redis://127.0.0.1:1', LOGIN_RATE_LIMIT: 1 };
    const app = await buildApp({ ...ctx.deps, config });
    try {
      const { user, password } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
      for (let i = 0; i < 3; i++)
        expect(typeof (await loginAs(app, { username: user.username, password }))).toBe('string');
      expect(ctx.logLines.join('')).toContain('rate-limit store unavailable');
    } finally {
      await app.close();
    }
  });
});

describe('password hashes', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
  });
  afterAll(() => stopApiApp(ctx, app));

  it('rehashes a legacy scrypt hash to Argon2id at the next successful login, and only then', async () => {
    const password = 'Legacy-Password-2024';
    const N = 1 << 14;
    const salt = randomBytes(16);
    const legacy = [
      'scrypt',
      N,
      8,
      1,
      salt.toString('base64'),
      scryptSync(password, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }).toString('base64'),
    ].join('$');
    const { user } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
    await ctx.deps.prisma.user.update({ where: { id: user.id }, data: { passwordHash: legacy } });
    const hashOf = async () => (await ctx.deps.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;

    const wrong = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: user.username, password: 'Not-The-Password-1' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(await hashOf()).toBe(legacy);

    await loginAs(app, { username: user.username, password });
    const upgraded = await hashOf();
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect(isUsablePasswordHash(upgraded) && !needsRehash(upgraded)).toBe(true);
    expect(await verifyPassword(password, upgraded)).toBe(true);
    await loginAs(app, { username: user.username, password });
    expect(await hashOf()).toBe(upgraded);
  });
});

describe('job data scan', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
  });
  afterAll(() => stopApiApp(ctx, app));

  it('finds a token planted in a job payload, and passes the payloads the API writes', async () => {
    const admin = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    const created = await app.inject({
      method: 'POST',
      url: '/api/backup/create',
      headers: admin.headers,
      payload: {},
    });
    expect(created.statusCode).toBe(202);
    expect(await scanQueueData(ctx.deps.config.REDIS_URL, ctx.deps.config.QUEUE_PREFIX)).toBe('');

    const queue = ctx.deps.producer.queue(QUEUES.backup);
    await queue.add('planted', { note: `Bearer ${admin.token}` }, { jobId: 'planted' });
    // Not captured for the end-of-run scan, which would (rightly) fail the run on this plant.
    const found = await scanQueueData(ctx.deps.config.REDIS_URL, ctx.deps.config.QUEUE_PREFIX, { capture: false });
    expect(found).toMatch(/:planted data=.*\[secret\]/);
    expect(found).toContain('JWT');
    expect(found).not.toContain(admin.token);
    await queue.remove('planted');
  });
});
