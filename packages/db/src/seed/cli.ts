// `npm run db:seed -- --scale N [--seed S] [--truncate]`: fills the domain tables of DATABASE_URL with demo data.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { seedDemoData, SeedError } from './seed-demo-data.js';

const USAGE = 'usage: db:seed -- [--scale N (default 1, decimals allowed)] [--seed S (default 1)] [--truncate]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      truncate: { type: 'boolean', default: false },
    },
  });
  const scale = Number(values.scale);
  const seed = Number(values.seed);
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set');
    return 2;
  }
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'mp-seed', options: '-c TimeZone=UTC' });
  pool.on('error', () => {});
  const started = performance.now();
  try {
    const counts = await seedDemoData(
      { pool },
      {
        scale,
        seed,
        truncate: values.truncate,
        onStep: (step, rows, ms) =>
          console.log(
            `${step.padEnd(14)} ${rows ? `${String(rows).padStart(10)} rows` : ' '.repeat(15)}  ` +
              `${(ms / 1000).toFixed(2)} s`,
          ),
      },
    );
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(
      `${'total'.padEnd(14)} ${String(total).padStart(10)} rows  ` +
        `${((performance.now() - started) / 1000).toFixed(2)} s (scale ${scale}, seed ${seed}, incl. commit and ` +
        `ANALYZE)`,
    );
    return 0;
  } catch (err) {
    if (err instanceof SeedError) {
      console.error(`${err.code}: ${err.message}\n${USAGE}`);
      return 1;
    }
    throw err;
  } finally {
    await pool.end();
  }
}

process.exitCode = await main();
