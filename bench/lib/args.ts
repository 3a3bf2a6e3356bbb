import { parseArgs } from 'node:util';

export const ALL_CASES = ['export', 'restore', 'memory', 'api', 'drill', 'cloud'] as const;
export type CaseName = (typeof ALL_CASES)[number];
/**
 * What runs without `--cases` (and in `--smoke`): the drill has no target, so it runs only when asked for; the
 * cloud case (three more full exports) too.
 */
export const DEFAULT_CASES: readonly CaseName[] = ALL_CASES.filter((c) => c !== 'drill' && c !== 'cloud');

export interface BenchOptions {
  scale: number;
  cases: CaseName[];
  runs: number;
  /** Tiny scale, every case, shorter load phases; the table is printed but targets are not judged. */
  smoke: boolean;
  /** Start workers with `--cpu-prof` (profiles land in `<outDir>/profiles`). */
  profile: boolean;
  /** Where logs, dumps, backups and profiles go; a fresh temporary folder when not given. */
  outDir: string | null;
  /** Keep the output folder (backups, dumps) instead of removing it at the end. */
  keep: boolean;
  /** Also write the results as JSON to this file. */
  json: string | null;
  /** Workers encrypt every file (a random BACKUP_ENCRYPTION_KEY per bench run): compare with a run without. */
  encrypt: boolean;
  /**
   * Codec of the export case's backup (with zstd, a gzip export of the same database runs beside it for size),
   * of the backup the restore case restores, and of the memory case's exports.
   */
  compression: 'gzip' | 'zstd';
}

export const USAGE =
  `usage: npm run bench -- [--scale N (default 1000)] [--cases ${ALL_CASES.join(',')}] [--runs N ` +
  `(default 1)]
                       [--smoke] [--profile] [--out DIR] [--keep] [--json FILE] [--encrypt]
                       [--compression gzip|zstd (default gzip)]`;

/** Parses the bench's command line; throws an Error with {@link USAGE} on anything it does not understand. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string' },
      cases: { type: 'string' },
      runs: { type: 'string', default: '1' },
      smoke: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
      encrypt: { type: 'boolean', default: false },
      compression: { type: 'string', default: 'gzip' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const smoke = values.smoke;
  const scale = Number(values.scale ?? (smoke ? '0.02' : '1000'));
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`--scale must be a number above 0\n${USAGE}`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20)
    throw new Error(`--runs must be a whole number from 1 to 20\n${USAGE}`);
  let cases: CaseName[] = [...DEFAULT_CASES];
  if (values.cases && !smoke) {
    const asked = values.cases
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const unknown = asked.filter((c) => !(ALL_CASES as readonly string[]).includes(c));
    if (unknown.length > 0 || asked.length === 0) throw new Error(`unknown case(s) ${unknown.join(', ')}\n${USAGE}`);
    cases = ALL_CASES.filter((c) => asked.includes(c));
  }
  const compression = values.compression;
  if (compression !== 'gzip' && compression !== 'zstd') throw new Error(`--compression must be gzip or zstd\n${USAGE}`);
  return {
    scale,
    cases,
    runs,
    smoke,
    profile: values.profile,
    outDir: values.out ?? null,
    keep: values.keep,
    json: values.json ?? null,
    encrypt: values.encrypt,
    compression,
  };
}
