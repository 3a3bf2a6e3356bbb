import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bootstrapAdmin, verifyPassword } from '@mp/core';
import { seedDemoData } from '@mp/db';
import { createTestDatabase, createUser, resetDatabase, type TestDatabase } from '@mp/testing';

const run = (env: Record<string, string>, args: string[] = []) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bootstrap-admin.ts', ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });

/** {@link run} without blocking, so several runs overlap. */
const runAsync = (env: Record<string, string>, args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bootstrap-admin.ts', ...args], {
      env: { PATH: process.env.PATH, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

describe('scripts/bootstrap-admin.ts', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    await resetDatabase(db.pool);
  });

  it('creates one admin with a generated password printed once, then leaves things alone', async () => {
    const first = run({ DATABASE_URL: db.url });
    expect(first.status).toBe(0);
    const password = /ONE-TIME PASSWORD:\s+(\S+)/.exec(first.stdout)?.[1];
    expect(password).toBeDefined();
    const admin = await db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
    expect(admin).toMatchObject({ role: 'ADMIN', mustChangePassword: true, isActive: true });
    expect(await verifyPassword(password!, admin.passwordHash)).toBe(true);

    const second = run({ DATABASE_URL: db.url, ADMIN_USERNAME: 'other' });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('already exists');
    expect(second.stdout).not.toContain(password!);
    expect(await db.prisma.user.count()).toBe(1);
  });

  it('creates a usable admin beside demo-data admins, whose passwords are disabled', async () => {
    await seedDemoData(db, { scale: 1, seed: 1 });
    const seededAdmins = await db.prisma.user.count({ where: { role: 'ADMIN' } });
    expect(seededAdmins).toBeGreaterThan(0);
    const res = run({ DATABASE_URL: db.url });
    expect(res.status).toBe(0);
    const password = /ONE-TIME PASSWORD:\s+(\S+)/.exec(res.stdout)?.[1];
    const admin = await db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
    expect(await verifyPassword(password!, admin.passwordHash)).toBe(true);
    expect(await db.prisma.user.count({ where: { role: 'ADMIN' } })).toBe(seededAdmins + 1);
  });

  it('prints its usage for --help and -h; an unknown flag exits 2 with it; the database is left alone', async () => {
    const [help, h, unknown] = await Promise.all(
      [['--help'], ['-h'], ['--force']].map((args) => runAsync({ DATABASE_URL: db.url }, args)),
    );
    for (const res of [help!, h!]) {
      expect(res.status).toBe(0);
      expect(res.stdout).toMatch(/^usage: /);
      expect(res.stdout).toContain('ADMIN_PASSWORD');
    }
    expect(unknown!.status).toBe(2);
    expect(unknown!.stderr).toContain("Unknown option '--force'");
    expect(unknown!.stderr).toContain('usage: ');
    expect(await db.prisma.user.count()).toBe(0);
  });

  it('refuses a weak ADMIN_PASSWORD and a missing DATABASE_URL, listing both', () => {
    const res = run({ ADMIN_PASSWORD: 'password' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('DATABASE_URL');
    expect(res.stderr).toContain('ADMIN_PASSWORD');
    expect(res.stderr).not.toContain('password\n');
  });

  it('uses a strong ADMIN_PASSWORD as given, and two concurrent runs create one admin', async () => {
    const results = await Promise.all([
      bootstrapAdmin({ prisma: db.prisma }, { username: 'root1', password: 'Strong-Pass-123' }),
      bootstrapAdmin({ prisma: db.prisma }, { username: 'root2', password: 'Strong-Pass-123' }),
    ]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [admin] = await db.prisma.user.findMany({ where: { role: 'ADMIN' } });
    expect(admin!.mustChangePassword).toBe(false);
    expect(await verifyPassword('Strong-Pass-123', admin!.passwordHash)).toBe(true);
  });

  it('does not hijack an existing non-admin username', async () => {
    await createUser(db.prisma, { role: 'SUPERVISOR', username: 'admin' });
    await expect(bootstrapAdmin({ prisma: db.prisma }, { username: 'admin' })).rejects.toThrow(/already exists/);
  });
});
