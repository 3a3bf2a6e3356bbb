/**
 * Creates the first ADMIN user when no admin can log in (demo-data admins cannot): `npx tsx
 * scripts/bootstrap-admin.ts`.
 * Env: DATABASE_URL (required), ADMIN_USERNAME (default "admin"), ADMIN_PASSWORD (optional; must be
 * strong), ADMIN_EMAIL (optional). Without ADMIN_PASSWORD a strong password is generated and printed
 * once, and must be changed at first login. There is no default password.
 */
import { parseArgs } from 'node:util';
import { bootstrapEnvSchema, loadConfigOrExit } from '@mp/config';
import { bootstrapAdmin } from '@mp/core';
import { createPrismaClient } from '@mp/db';

const USAGE = `usage: npm run admin:bootstrap [-- --help]

Creates the first ADMIN user when no admin can log in; changes nothing when one exists.
Environment:
  DATABASE_URL     the database (required)
  ADMIN_USERNAME   the admin's username (default "admin")
  ADMIN_PASSWORD   a strong password; without it one is generated, printed once, and must be changed at first login
  ADMIN_EMAIL      the admin's email (optional)
`;

// Any argument is read before the database is touched: asking for help must never create an admin.
let help = false;
try {
  help = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } }).values.help === true;
} catch (err) {
  process.stderr.write(`bootstrap-admin: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(2);
}
if (help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const env = loadConfigOrExit(bootstrapEnvSchema, process.env);

const prisma = createPrismaClient(env.DATABASE_URL, { max: 1 });
try {
  const result = await bootstrapAdmin(
    { prisma },
    { username: env.ADMIN_USERNAME, password: env.ADMIN_PASSWORD, email: env.ADMIN_EMAIL },
  );
  if (!result.created) {
    process.stdout.write(`An admin user already exists (${result.existingAdmin}); nothing was changed.\n`);
  } else if (result.generatedPassword) {
    const line = '='.repeat(72);
    process.stdout.write(
      `${line}\n  ADMIN USER CREATED: ${result.username}\n  ONE-TIME PASSWORD:  ${result.generatedPassword}\n` +
        `  This password is shown only now and must be changed at first login.\n${line}\n`,
    );
  } else {
    process.stdout.write(`Admin user ${result.username} created with the password from ADMIN_PASSWORD.\n`);
  }
} catch (err) {
  process.stderr.write(`bootstrap-admin failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await prisma.$disconnect();
}
