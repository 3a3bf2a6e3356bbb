import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, recordSecret, REPO_ROOT, tableHashes, waitFor } from '@mp/testing';
import { buildConsole } from '../../scripts/build.mjs';
import { client, startE2eStack, type E2eStack } from '../e2e/helpers.js';
import { pngStats } from './png.js';

/**
 * The admin console in a real headless Chromium (Debian's package, driven by playwright-core; `npm test`
 * installs it when missing and sets CHROMIUM_PATH), against the API and worker as real processes.
 * One admin walks through it in order: forced password change, a labelled backup with progress, download, the
 * backup's read-back and a pin, schedule with retention rules, health and a drill, a refused upload, a refused
 * selective restore and its preview, a restore with its confirmation and its undo, the queue dashboard, a
 * phone-sized screen, and last (it wipes everything) an emergency reset with the claim of the new SuperAdmin password.
 */
const shots = path.join(REPO_ROOT, '.tmp', 'console-screenshots');
const NEW_PASSWORD = 'Console-Chosen-Pass-2026!';

/** Saves a screenshot and checks it shows a rendered page: many colours, and not one flat background. */
async function screenshot(page: Page, name: string) {
  const png = await page.screenshot({ fullPage: true });
  writeFileSync(path.join(shots, `${name}.png`), png);
  const stats = pngStats(png);
  expect([name, stats.distinctColours > 20, stats.nonBackground > 0.02]).toEqual([name, true, true]);
  return stats;
}

describe('admin console in Chromium', () => {
  let stack: E2eStack;
  let browser: Browser;
  let page: Page;
  let admin: { username: string; password: string };
  let backupId = '';
  let changedUnionId = '';

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    const executablePath = process.env.CHROMIUM_PATH;
    if (!executablePath)
      throw new Error("CHROMIUM_PATH is not set: run this file through `npm test`, which installs Debian's chromium");
    const [, started] = await Promise.all([
      buildConsole({ onlyIfStale: true }),
      startE2eStack({ scale: 1, seed: 1501 }),
    ]);
    stack = started;
    // An admin with a generated password, as the first start creates one: it must choose its own first.
    const { user, password } = await createUser(stack.db.prisma, { role: 'ADMIN' });
    await stack.db.prisma.user.update({ where: { id: user.id }, data: { mustChangePassword: true } });
    admin = { username: user.username, password };
    recordSecret('password', NEW_PASSWORD);
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const logIn = async (password: string) => {
    await page.getByLabel('Username').fill(admin.username);
    await page.locator('input[name=password]').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  };

  it('logs in, and a generated password must be changed first', async () => {
    await page.goto(`${stack.api.url}/admin`);
    expect(page.url()).toBe(`${stack.api.url}/admin/`);
    await logIn(admin.password);
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await screenshot(page, '01-change-password');
    await page.getByLabel('Current (generated) password').fill(admin.password);
    await page.locator('input[name=new]').fill(NEW_PASSWORD);
    await page.locator('input[name=repeat]').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
    // The token is in this tab's sessionStorage, never in the address.
    expect(page.url()).not.toMatch(/token|eyJ/);
    expect(await page.evaluate<string[]>('Object.keys(sessionStorage)')).toContain('mp.console.session');
    admin.password = NEW_PASSWORD;
  });

  it('creates a backup and shows its progress per table until it completes, then downloads it', async () => {
    await page.getByRole('link', { name: 'New backup' }).first().click();
    await page.getByLabel('Audit logs').check();
    await page.getByLabel('Labels (optional)').fill('reason=console-test');
    await page.getByRole('button', { name: 'Start backup' }).click();
    const job = page.locator('section.job');
    await job.waitFor();
    await page.locator('section.job[data-state="completed"]').waitFor({ timeout: 60_000 });
    const jobId = (await job.getAttribute('data-job-id'))!;
    const status = await client(stack.api, await stack.login()).json<{
      result: { backupId: string; recordCounts: Record<string, number>; checksum: string };
    }>('GET', `/api/backup/jobs/${jobId}`);
    backupId = status.body.data.result.backupId;
    const counts = status.body.data.result.recordCounts;
    // One full bar per table of the file, audit logs included, each with that table's row count.
    const bars = await job.locator('.table-bars li').evaluateAll((items) =>
      items.map((li) => ({
        table: li.getAttribute('data-table'),
        value: (li.querySelector('progress') as unknown as { value: number }).value,
        text: li.textContent,
      })),
    );
    expect(bars.map((b) => b.table).sort()).toEqual(Object.keys(counts).sort());
    expect(bars.map((b) => b.table)).toContain('auditLogs');
    for (const b of bars) expect([b.table, b.value]).toEqual([b.table, counts[b.table!] || 1]);
    await expect
      .poll(() =>
        job
          .locator('progress')
          .first()
          .evaluate((p) => (p as unknown as { value: number }).value),
      )
      .toBe(100);
    await screenshot(page, '02-backup-completed');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download it' }).click(),
    ]);
    const file = readFileSync((await download.path())!);
    expect(download.suggestedFilename()).toMatch(/^backup_.*\.json(\.gz)?$/);
    expect(createHash('sha256').update(file).digest('hex')).toBe(status.body.data.result.checksum);
    const text = file[0] === 0x1f ? gunzipSync(file).toString() : file.toString();
    writeFileSync(path.join(shots, 'downloaded.json'), text);
  });

  it('lists the backup with its status, type, size, location and counts', async () => {
    await page.getByRole('link', { name: 'Backups' }).first().click();
    const row = page.locator(`tr[data-backup-id="${backupId}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.join(' | ')).toMatch(/completed \| manual \| \d+(\.\d)? [KM]?B \| local \| [\d,]+ rows/);
    // The read-back the worker ran right after writing it, in short (the API's verificationSummary).
    expect(await row.getByTestId('verification-summary').innerText()).toMatch(/^read-back passed/);
    await screenshot(page, '03-backup-list');
    // Its label is a filter: another label shows nothing, its own shows it again.
    await page.getByLabel('Label').fill('reason:other');
    await page.getByText('No backup matches these filters.').waitFor();
    await page.getByLabel('Label').fill('');
    await row.getByRole('button', { name: 'reason=console-test' }).click();
    await row.waitFor();
    expect(await page.getByLabel('Label').inputValue()).toBe('reason:console-test');
  });

  it("shows the backup's read-back report, pins it with a note, and the list shows the pin", async () => {
    await page
      .locator(`tr[data-backup-id="${backupId}"]`)
      .getByRole('link', { name: /^Details of / })
      .click();
    const verification = page.getByTestId('verification');
    await verification.waitFor();
    expect(await verification.innerText()).toMatch(/^Read-back passed/);
    expect(await verification.locator('table.checks caption').first().innerText()).toBe(
      'local copy: every check passed',
    );
    await page.getByLabel('Pin note (optional)').fill('before the 2026 migration');
    await page.getByRole('button', { name: 'Pin', exact: true }).click();
    await page.getByText('Backup pinned').waitFor();
    const stored = await stack.db.prisma.backupRecord.findUniqueOrThrow({ where: { id: backupId } });
    expect([stored.pinned, stored.pinNote]).toEqual([true, 'before the 2026 migration']);
    await screenshot(page, '03b-backup-detail');
    await page.getByRole('link', { name: '← All backups' }).click();
    expect(await page.locator(`tr[data-backup-id="${backupId}"]`).getByTestId('pin').innerText()).toBe(
      'pinned: before the 2026 migration',
    );
  });

  it('changes the schedule and shows the next run', async () => {
    await page.getByRole('link', { name: 'Schedule' }).click();
    await page.getByLabel('Frequency').selectOption('weekly');
    await page.getByLabel('Keep backups for (days)').fill('14');
    await page.getByLabel('Keep monthly').fill('12');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText('Backup schedule updated').waitFor();
    const saved = await client(stack.api, await stack.login()).json<{
      frequency: string;
      retentionDays: number;
      keepMonthly: number | null;
      nextBackupAt: string;
    }>('GET', '/api/backup/schedule');
    expect([saved.body.data.frequency, saved.body.data.retentionDays, saved.body.data.keepMonthly]).toEqual([
      'weekly',
      14,
      12,
    ]);
    // The retention preview says why each backup is kept: the pinned one names its pin.
    const kept = page.getByTestId('retention-preview').locator(`tr[data-backup-id="${backupId}"]`);
    await kept.waitFor();
    expect(await kept.getAttribute('data-action')).toBe('keep');
    expect(await kept.innerText()).toMatch(/pinned/);
    expect(await page.getByTestId('next-run').innerText()).not.toMatch(/^(—|disabled)$/);
    expect(await page.getByTestId('last-run').innerText()).not.toBe('—');
    await screenshot(page, '04-schedule');
  });

  it('shows every health check with its value and limit, and runs a drill shown with its recovery time', async () => {
    await page.getByRole('link', { name: 'Health' }).click();
    const checks = page.getByTestId('health').locator('tr[data-check]');
    await checks.first().waitFor();
    const api = await client(stack.api, await stack.login()).json<{ checks: { name: string; ok: boolean }[] }>(
      'GET',
      '/api/backup/health',
    );
    expect(await checks.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-check')))).toEqual(
      api.body.data.checks.map((c) => c.name),
    );
    // The newest backup's age: a value in seconds against the schedule's limit (weekly: 8 days).
    const age = await page.locator('tr[data-check="backup_age"]').innerText();
    expect(age).toMatch(/^Newest backup age\s+ok\s+(\d+(\.\d)? s|\d+ min( \d+ s)?)\s+8 days\s/);

    await expect.poll(() => page.getByLabel('Backup to drill').inputValue()).toBe(backupId);
    await page.getByRole('button', { name: 'Run a drill' }).click();
    await page.locator('section.job[data-state="completed"]').waitFor({ timeout: 60_000 });
    const outcome = await page.getByTestId('drill-outcome').innerText();
    expect(outcome).toMatch(/^The backup restored and matched the file\. Recovery time \d+(\.\d)? s · [\d,]+ rows\/s/);
    const drill = await stack.db.prisma.operation.findFirstOrThrow({ where: { kind: 'drill' } });
    const row = page.locator(`tr[data-drill-id="${drill.id}"]`);
    await expect.poll(() => row.getByTestId('drill-rto').innerText()).toMatch(/^\d+(\.\d)? s$/);
    expect(await row.innerText()).toContain('passed');
    await screenshot(page, '04b-health-drills');
  }, 60_000);

  it('shows the readable problems of a refused upload, and nothing changes', async () => {
    const broken = JSON.parse(readFileSync(path.join(shots, 'downloaded.json'), 'utf8'));
    delete broken.data.loans;
    const upload = path.join(shots, 'broken-backup.json');
    writeFileSync(upload, JSON.stringify(broken));
    const usersBefore = await stack.db.prisma.user.count();

    await page.getByRole('link', { name: 'Restore' }).first().click();
    await page.getByLabel('A file from this computer').check();
    await page.getByLabel('Backup file').setInputFiles(upload);
    await page.getByRole('button', { name: 'Restore…' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.innerText()).toContain('loans');
    await dialog.getByRole('button', { name: 'Replace the data' }).click();
    await page.locator('section.job[data-state="failed"]').waitFor({ timeout: 60_000 });
    const problems = page.locator('.problems');
    expect(await problems.innerText()).toContain('this table is missing from the file');
    expect(await page.locator('section.job .error').innerText()).toMatch(
      /^The backup file is not valid; nothing was changed/,
    );
    await screenshot(page, '05-refused-restore');
    expect(await stack.db.prisma.user.count()).toBe(usersBefore);
  });

  it('refuses a selective restore that would break references, showing its problems; the preview names the tables ' +
    'dependencies add', async () => {
    // A new union with an officer, and two members moved to it: restoring unions alone would remove it under them.
    const officer = await createUser(stack.db.prisma, { role: 'CREDIT_OFFICER' });
    const union = await stack.db.prisma.union.create({
      data: { name: 'Union created after the backup', location: 'Nowhere', creditOfficerId: officer.user.id },
    });
    const moved = (
      await stack.db.pool.query<{ id: string; unionId: string }>(
        `SELECT id, "unionId" FROM union_members ORDER BY id LIMIT 2`,
      )
    ).rows;
    await stack.db.pool.query(`UPDATE union_members SET "unionId" = $1 WHERE id = ANY($2::text[])`, [
      union.id,
      moved.map((m) => m.id),
    ]);
    const before = await tableHashes(stack.db.pool, ['users', 'unions', 'union_members']);

    await page.getByRole('link', { name: 'Backups' }).first().click();
    await page
      .locator(`tr[data-backup-id="${backupId}"]`)
      .getByRole('link', { name: /^Restore / })
      .click();
    await expect.poll(() => page.locator('select[name=backupId]').inputValue()).toBe(backupId);
    await page.getByLabel('Only some tables (selective)').check();
    await page.getByLabel('unions', { exact: true }).check();
    await page.getByRole('button', { name: 'Restore…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.innerText()).toContain('unions: ');
    await dialog.getByRole('button', { name: 'Replace the data' }).click();
    const job = page.locator('section.job[data-state="failed"]');
    await job.waitFor({ timeout: 60_000 });
    expect(await job.locator('.error').first().innerText()).toMatch(
      new RegExp(
        '^The restore would break references between tables; nothing was changed: ' +
          '1 problem: unionMembers\\.unionId → unions.*For live unionMembers that would point at nothing: ' +
          'restore unionMembers too',
      ),
    );
    const problems = await job.locator('.problems tbody tr').allInnerTexts();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /union members\s+—\s+unionId\s+.*2 rows of live unionMembers point at unions missing from the file/,
    );
    expect(await job.innerText()).not.toMatch(/[{}"]/);
    await screenshot(page, '05b-refused-selective-restore');
    expect(await tableHashes(stack.db.pool, ['users', 'unions', 'union_members'])).toEqual(before);

    await page.getByLabel(/^Also restore the tables they depend on/).check();
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByTestId('preview');
    await preview.waitFor({ timeout: 60_000 });
    expect(await preview.getByTestId('added-tables').innerText()).toBe('With dependencies, it also replaces: users.');
    expect(await preview.locator('tr[data-table="unions"]').innerText()).toMatch(/unions\s+\d+\s+\d+\s+0\s+1\s+0/);
    await screenshot(page, '05c-selective-preview');
    // Put the data back as the backup has it, for the whole restore that follows.
    await stack.db.pool.query(
      `UPDATE union_members m SET "unionId" = o."unionId" FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) ` +
        `AS "unionId") o WHERE m.id = o.id`,
      [moved.map((m) => m.id), moved.map((m) => m.unionId)],
    );
    await stack.db.prisma.union.delete({ where: { id: union.id } });
    await stack.db.prisma.user.delete({ where: { id: officer.user.id } });
  }, 60_000);

  it('restores a stored backup after a confirmation naming what is replaced, then asks to log in again', async () => {
    const backedUp = await tableHashes(stack.db.pool, ['unions']);
    const union = await stack.db.prisma.union.findFirstOrThrow();
    changedUnionId = union.id;
    await stack.db.prisma.union.update({ where: { id: union.id }, data: { location: 'changed after the backup' } });
    await page.getByRole('link', { name: 'Backups' }).first().click();
    await page
      .getByRole('link', { name: /^Restore .*/ })
      .first()
      .waitFor();
    await page
      .locator(`tr[data-backup-id="${backupId}"]`)
      .getByRole('link', { name: /^Restore / })
      .click();
    await expect.poll(() => page.locator('select[name=backupId]').inputValue()).toBe(backupId);
    await page.getByRole('button', { name: 'Restore…' }).click();
    const dialog = page.getByRole('dialog');
    const text = await dialog.innerText();
    for (const t of ['users', 'union members', 'loans', 'repayments', 'audit logs']) expect(text).toContain(t);
    expect(text).toContain('The replaced tables are kept as a restore point: the restore can be undone');
    expect(text).toContain('A safety backup file (pre-restore) of the replaced data is written in the background.');
    await screenshot(page, '06-restore-confirmation');
    await dialog.getByRole('button', { name: 'Replace the data' }).click();
    // A restore ends every session: the console says so and asks to log in again.
    await page.getByText('Your session ended').waitFor({ timeout: 60_000 });
    await logIn(admin.password);
    await page.locator('section.job[data-state="completed"]').waitFor({ timeout: 30_000 });
    expect(await tableHashes(stack.db.pool, ['unions'])).toEqual(backedUp);
    await expect.poll(() => stack.db.prisma.backupRecord.count({ where: { type: 'pre_restore' } })).toBe(1);
    await screenshot(page, '07-restore-completed');
  });

  it('previews an undo (the rows written since the restore) and undoes the restore', async () => {
    const restore = await stack.db.prisma.operation.findFirstOrThrow({
      where: { kind: 'restore', status: 'completed' },
    });
    // What was live before the restore comes back; the change made after it is what the undo discards.
    const sinceRestore = await stack.db.prisma.union.findFirstOrThrow({ where: { id: { not: changedUnionId } } });
    await stack.db.prisma.union.update({
      where: { id: sinceRestore.id },
      data: { location: 'written after the restore' },
    });
    // The union written since, and the logins (users.lastLoginAt, this one's too): what the API counts, the page shows.
    const counted = await client(stack.api, await stack.login()).json<{ written: number }>(
      'GET',
      `/api/backup/restore/${restore.id}/undo`,
    );
    await page.getByRole('link', { name: 'Undo this restore…' }).click();
    const preview = page.getByTestId('undo-preview');
    await preview.waitFor();
    expect(await preview.getByRole('heading').innerText()).toBe('This restore can be undone');
    expect(await page.getByTestId('undo-written').innerText()).toBe(counted.body.data.written.toLocaleString('en-US'));
    expect(await preview.locator('tr[data-table="unions"]').innerText()).toMatch(/unions\s+0\s+1\s+0/);
    // The latest restores are listed with their undo; this one is offered.
    await page
      .locator(`[data-testid="restores"] tr[data-restore-id="${restore.id}"]`)
      .getByRole('button', { name: /^Check undo/ })
      .waitFor();
    await screenshot(page, '07b-undo-preview');
    await page.getByRole('button', { name: 'Undo the restore…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.innerText()).toMatch(/row changes written since the restore are discarded \(.*unions 1/);
    await dialog.getByRole('button', { name: /^Undo, discarding \d+ changes$/ }).click();
    await page.getByText('Your session ended').waitFor({ timeout: 60_000 });
    await logIn(admin.password);
    await page.locator('section.job[data-state="completed"]').waitFor({ timeout: 30_000 });
    const undo = await stack.db.prisma.operation.findFirstOrThrow({ where: { kind: 'undo' } });
    expect([undo.status, (undo.input as { restoreOperationId: string }).restoreOperationId]).toEqual([
      'completed',
      restore.id,
    ]);
    expect((await stack.db.prisma.union.findUniqueOrThrow({ where: { id: changedUnionId } })).location).toBe(
      'changed after the backup',
    );
    expect((await stack.db.prisma.union.findUniqueOrThrow({ where: { id: sinceRestore.id } })).location).not.toBe(
      'written after the restore',
    );
    await expect.poll(() => preview.getByRole('heading').innerText()).toBe('This restore cannot be undone');
    await screenshot(page, '07c-undone');
  }, 60_000);

  it('opens the queue dashboard with its cookie; a browser without it is refused', async () => {
    const [tab] = await Promise.all([
      page.context().waitForEvent('page'),
      page.getByRole('button', { name: 'Queues ↗' }).click(),
    ]);
    await tab.waitForURL(/\/admin\/queues\/$/);
    const answer = await tab.evaluate(async () => (await fetch('api/queues')).status);
    expect(answer).toBe(200);
    await tab.getByText('backup', { exact: true }).first().waitFor();
    await screenshot(tab, '08-queues');
    const anonymous = await browser.newPage();
    const refused = await anonymous.goto(`${stack.api.url}/admin/queues/`);
    expect(refused?.status()).toBe(401);
    await anonymous.close();
    await tab.close();
  }, 60_000);

  it('reads well on a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Backups' }).first().click();
    await page.locator('tr[data-backup-id]').first().waitFor();
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, '09-phone');
  });

  it('runs an emergency reset, claims the new SuperAdmin password once, and makes it be changed', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('link', { name: 'Reset', exact: true }).click();
    await page.getByLabel('Type DELETE to confirm').fill('DELETE');
    await page.getByRole('button', { name: 'Reset everything…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Wipe and reset' }).click();
    await page.getByRole('heading', { name: 'Emergency reset' }).waitFor();
    // The claim answers OPERATION_IN_PROGRESS until the reset completed (and is rate-limited): wait for its row first.
    await waitFor(
      () => stack.db.prisma.operation.findFirst({ where: { kind: 'reset', status: 'completed' } }),
      60_000,
      200,
    );
    await page.getByRole('button', { name: 'Claim the SuperAdmin password' }).click();
    const secret = page.locator('code.secret');
    await secret.waitFor();
    const password = await secret.innerText();
    recordSecret('password', password);
    await screenshot(page, '10-reset-claimed');
    expect(await page.getByLabel('Username').inputValue()).toBe('SuperAdmin');
    await page.locator('input[name=password]').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await page.getByLabel('Current (generated) password').fill(password);
    await page.locator('input[name=new]').fill(NEW_PASSWORD);
    await page.locator('input[name=repeat]').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
    expect(await stack.db.prisma.union.count()).toBe(0);
  }, 90_000);
});
