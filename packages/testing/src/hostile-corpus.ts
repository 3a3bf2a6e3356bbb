import { gzipSync } from 'node:zlib';
import { seededRandom as random } from './random.js';

/**
 * A generated corpus of damaged backups for the restore path, built from one small VALID backup
 * (take it from a real export). Deterministic: the same base and seed give the same cases in the
 * same order. Every case is something the service must refuse: scalars that PostgreSQL can cast
 * (42 for a text column, "5" for an int, "yes" for a boolean) are accepted by design and are not in here.
 */

export type HostileFamily =
  | 'wrong-type'
  | 'missing-key'
  | 'extra-key'
  | 'duplicate-id'
  | 'dangling-reference'
  | 'sql-or-proto-key'
  | 'huge-string'
  | 'deep-nesting'
  | 'number-out-of-range'
  | 'invalid-date'
  | 'nul-byte'
  | 'broken-gzip'
  | 'gzip-bomb'
  | 'newer-version';

export interface HostileCase {
  /** Position in the corpus, stable for a given base and seed. */
  index: number;
  family: HostileFamily;
  description: string;
  /** The damaged document: sendable as `{ backupData }` and as a .json upload. */
  doc?: unknown;
  /** Raw file bytes (gzip and byte-level damage): sendable as an upload only. */
  file?: Buffer;
}

export interface BackupDocument {
  metadata: Record<string, unknown>;
  data: Record<string, Array<Record<string, unknown>>>;
}

type ColumnType =
  | 'text'
  | 'uuid'
  | 'enum'
  | 'numeric'
  | 'int'
  | 'bigint'
  | 'boolean'
  | 'timestamptz'
  | 'date'
  | 'jsonb';

/** The columns the corpus damages, per table key, with their PostgreSQL type (see prisma/schema.prisma). */
const COLUMNS: Record<string, Array<[string, ColumnType]>> = {
  users: [
    ['id', 'uuid'],
    ['username', 'text'],
    ['email', 'text'],
    ['role', 'enum'],
    ['isActive', 'boolean'],
    ['createdAt', 'timestamptz'],
    ['supervisorId', 'uuid'],
  ],
  unions: [
    ['id', 'uuid'],
    ['name', 'text'],
    ['creditOfficerId', 'uuid'],
    ['isActive', 'boolean'],
    ['updatedAt', 'timestamptz'],
  ],
  unionMembers: [
    ['id', 'uuid'],
    ['unionId', 'uuid'],
    ['firstName', 'text'],
    ['dateOfBirth', 'date'],
    ['isVerified', 'boolean'],
    ['joinedAt', 'timestamptz'],
  ],
  loanTypes: [
    ['id', 'uuid'],
    ['name', 'text'],
    ['interestRate', 'numeric'],
    ['minAmount', 'numeric'],
    ['durationMonths', 'int'],
    ['isActive', 'boolean'],
  ],
  loans: [
    ['id', 'uuid'],
    ['loanNumber', 'text'],
    ['principal', 'numeric'],
    ['totalDue', 'numeric'],
    ['status', 'enum'],
    ['termMonths', 'int'],
    ['appliedAt', 'timestamptz'],
    ['dueDate', 'date'],
    ['unionMemberId', 'uuid'],
  ],
  repayments: [
    ['id', 'uuid'],
    ['amount', 'numeric'],
    ['paidAt', 'timestamptz'],
    ['method', 'enum'],
    ['reference', 'text'],
    ['loanId', 'uuid'],
  ],
  auditLogs: [
    ['id', 'bigint'],
    ['action', 'text'],
    ['entityType', 'text'],
    ['before', 'jsonb'],
    ['after', 'jsonb'],
    ['createdAt', 'timestamptz'],
  ],
};

/** Values no column of that type accepts (PostgreSQL cannot cast them). */
const WRONG: Record<ColumnType, unknown[]> = {
  text: [{}, [], { value: 'x' }, ['a', 'b'], { nested: { deep: [1] } }],
  uuid: [{}, [], { id: 'x' }, [null], { uuid: null }],
  enum: ['SUPERUSER', '', 'admin', 7, { value: 'ADMIN' }, 'PENDING_APPROVAL'],
  numeric: ['a lot', '12.34.56', true, '1,000.00', [], '--5'],
  int: ['ten', 1.5, true, '1e3', {}, '12abc'],
  bigint: ['abc', 2.5, false, { n: 1 }, '1.2.3'],
  boolean: ['maybe', 2, 0.5, '', [], 'nope'],
  timestamptz: ['not a date', true, '31/31/2026', { at: 'now' }, '2026-01-01 25:99'],
  date: ['tomorrow-ish', true, '2026/99/99', [], '32-01-2026'],
  // Any JSON value is valid jsonb: what jsonb refuses is a NUL character (see the nul-byte family).
  jsonb: [{ text: 'a\u0000b' }, '\u0000'],
};

/** Required columns (NOT NULL without a default): removing one is refused. */
const REQUIRED: Record<string, string[]> = {
  users: ['username', 'email', 'passwordHash', 'firstName', 'lastName', 'role'],
  unions: ['name', 'location', 'creditOfficerId'],
  unionMembers: ['unionId', 'firstName', 'lastName'],
  loanTypes: ['name', 'interestRate', 'minAmount', 'maxAmount', 'durationMonths'],
  loans: [
    'loanNumber',
    'unionMemberId',
    'loanTypeId',
    'principal',
    'interestRate',
    'totalDue',
    'termMonths',
    'createdById',
  ],
  repayments: ['loanId', 'amount', 'paidAt', 'method', 'reference'],
  auditLogs: ['action', 'entityType'],
};

/** Foreign keys inside the file: [table, column]. */
const REFERENCES: Array<[string, string]> = [
  ['users', 'supervisorId'],
  ['unions', 'creditOfficerId'],
  ['unionMembers', 'unionId'],
  ['unionMembers', 'createdById'],
  ['loans', 'unionMemberId'],
  ['loans', 'loanTypeId'],
  ['loans', 'createdById'],
  ['loans', 'approvedById'],
  ['repayments', 'loanId'],
  ['repayments', 'receivedById'],
];

/** Unique columns besides the id: [table, column]. */
const UNIQUE: Array<[string, string]> = [
  ['users', 'username'],
  ['users', 'email'],
  ['unions', 'name'],
  ['loanTypes', 'name'],
  ['loans', 'loanNumber'],
  ['repayments', 'reference'],
];

const TABLES = ['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments'] as const;

const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  '"; DROP TABLE users; --',
  "id' OR '1'='1",
  'id") ; DELETE FROM loans; --',
  'Robert\'); DROP TABLE "union_members";--',
  '$1',
  '../../etc/passwd',
  'id\u0000',
];

const clone = <T>(v: T): T => structuredClone(v);

/** A uuid-shaped id from the PRNG: never one of the base's ids. */
function fakeId(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A JSON text nested `depth` levels deep, built without recursion. */
export function deepJson(depth: number, open = '[', close = ']'): string {
  return open.repeat(depth) + close.repeat(depth);
}

/**
 * Builds the corpus from `base` (a valid backup with audit logs and at least two rows in every
 * table but `repayments` and `auditLogs`, which need one). `seed` picks rows and ids.
 * Cases without `doc` carry `file` bytes (gzip damage, raw bytes no JSON value can hold).
 * Trap: the gzip bomb cases are built by repeating one small gzip member, so they are cheap to
 * make and inflate to `bombBytes` each (default 8 GiB), far beyond any sane limit.
 */
export function buildHostileCorpus(
  base: BackupDocument,
  opts: { seed: number; bombBytes?: number } = { seed: 1 },
): HostileCase[] {
  const rand = random(opts.seed);
  const cases: HostileCase[] = [];
  const add = (family: HostileFamily, description: string, body: { doc?: unknown; file?: Buffer }) =>
    cases.push({ index: cases.length, family, description, ...body });
  const rowsOf = (table: string) => base.data[table] ?? [];
  const pickRow = (table: string) => Math.floor(rand() * rowsOf(table).length);
  /** The first, a random and the last row of a table (fewer when the table is small). */
  const someRows = (table: string) => new Set([0, pickRow(table), Math.max(0, rowsOf(table).length - 1)]);
  /** A copy of the base with `fn` applied to row `row` of `table`. */
  const withRow = (table: string, row: number, fn: (r: Record<string, unknown>) => void): BackupDocument => {
    const doc = clone(base);
    fn(doc.data[table]![row]!);
    return doc;
  };
  const withDoc = (fn: (d: BackupDocument) => void): BackupDocument => {
    const doc = clone(base);
    fn(doc);
    return doc;
  };

  // Wrong types: every damaged column, every bad value of its type, in the first and a random row.
  for (const [table, columns] of Object.entries(COLUMNS)) {
    for (const [column, type] of columns) {
      for (const value of WRONG[type]) {
        for (const row of someRows(table)) {
          add('wrong-type', `data.${table}[${row}].${column} (${type}) = ${JSON.stringify(value)}`, {
            doc: withRow(table, row, (r) => (r[column] = value)),
          });
        }
      }
    }
  }
  // Rows and tables of the wrong type.
  for (const table of TABLES) {
    for (const value of [null, 42, 'row', [1, 2], true]) {
      add('wrong-type', `a row of data.${table} is ${JSON.stringify(value)}`, {
        doc: withDoc((d) => d.data[table]!.push(value as never)),
      });
    }
    for (const value of [{}, 'rows', 7, null]) {
      add('wrong-type', `data.${table} is ${JSON.stringify(value)} instead of an array`, {
        doc: withDoc((d) => ((d.data as Record<string, unknown>)[table] = value)),
      });
    }
  }

  // Missing keys: required fields, whole tables, metadata fields, the two top-level keys.
  for (const [table, columns] of Object.entries(REQUIRED)) {
    for (const column of columns) {
      for (const row of someRows(table)) {
        add('missing-key', `data.${table}[${row}] without required ${column}`, {
          doc: withRow(table, row, (r) => delete r[column]),
        });
        add('missing-key', `data.${table}[${row}].${column} = null (required)`, {
          doc: withRow(table, row, (r) => (r[column] = null)),
        });
      }
    }
  }
  for (const table of TABLES) add('missing-key', `no data.${table}`, { doc: withDoc((d) => delete d.data[table]) });
  add('missing-key', 'metadata says audit logs are included, data.auditLogs is missing', {
    doc: withDoc((d) => delete d.data.auditLogs),
  });
  // `app` may be missing (hand-written files and those of the first format version have none): only `version` is
  // required.
  add('missing-key', 'metadata without version', { doc: withDoc((d) => delete d.metadata.version) });
  add('missing-key', 'no metadata', { doc: { data: clone(base.data) } });
  add('missing-key', 'no data', { doc: { metadata: clone(base.metadata) } });
  add('missing-key', 'an empty object', { doc: {} });
  for (const table of TABLES) {
    add('missing-key', `metadata.recordCounts.${table} does not match (one row removed)`, {
      doc: withDoc((d) => d.data[table]!.pop()),
    });
  }

  // Extra keys: unknown fields in rows, unknown tables.
  for (const table of [...TABLES, 'auditLogs']) {
    for (const field of ['extra', 'password', 'Id', 'deletedAt', 'isAdmin', 'user_name', 'createdat', ' id']) {
      add('extra-key', `data.${table}[0] has an unknown field "${field}"`, {
        doc: withRow(table, 0, (r) => (r[field] = 'x')),
      });
    }
  }
  for (const table of ['accounts', 'Users', 'loan_types', 'backupRecords', 'operations']) {
    add('extra-key', `an unknown table data.${table}`, {
      doc: withDoc((d) => (d.data[table] = [{ id: fakeId(rand) }])),
    });
  }

  // Duplicate ids and unique values.
  for (const table of [...TABLES, 'auditLogs']) {
    for (const row of new Set([0, pickRow(table)])) {
      add('duplicate-id', `data.${table}[${row}] appears twice`, {
        doc: withDoc((d) => d.data[table]!.push(clone(d.data[table]![row]!))),
      });
    }
    if (rowsOf(table).length > 1) {
      add('duplicate-id', `data.${table}[1] has the id of data.${table}[0]`, {
        doc: withDoc((d) => (d.data[table]![1]!.id = d.data[table]![0]!.id)),
      });
    }
  }
  for (const [table, column] of UNIQUE) {
    if (rowsOf(table).length > 1) {
      add('duplicate-id', `data.${table}[1].${column} repeats data.${table}[0].${column}`, {
        doc: withDoc((d) => (d.data[table]![1]![column] = d.data[table]![0]![column])),
      });
    }
  }

  // Dangling references: to an id not in the file, and to an id of another table.
  for (const [table, column] of REFERENCES) {
    for (const row of someRows(table)) {
      for (const [what, value] of [
        ['an id not in the file', fakeId(rand)],
        // No column refers to repayments, and repayments refer to loans and users: a union's id is dangling there.
        ['an id of another table', table === 'repayments' ? base.data.unions![0]!.id : base.data.repayments![0]!.id],
        ['an empty id', ''],
      ] as const) {
        add('dangling-reference', `data.${table}[${row}].${column} refers to ${what}`, {
          doc: withRow(table, row, (r) => (r[column] = value)),
        });
      }
    }
  }
  for (const table of ['unions', 'loanTypes', 'unionMembers', 'loans']) {
    add('dangling-reference', `data.${table} emptied while other tables refer to it`, {
      doc: withDoc((d) => {
        d.data[table] = [];
        (d.metadata.recordCounts as Record<string, number>)[table] = 0;
      }),
    });
  }

  // Keys that are SQL or prototype names: as row fields, table names, metadata fields, top-level keys.
  for (const key of HOSTILE_KEYS) {
    for (const table of ['users', 'unions', 'loans', 'auditLogs']) {
      add('sql-or-proto-key', `data.${table}[0] has a field ${JSON.stringify(key)}`, {
        doc: withRow(table, 0, (r) => Object.defineProperty(r, key, { value: 'x', enumerable: true })),
      });
    }
    add('sql-or-proto-key', `a table named ${JSON.stringify(key)}`, {
      doc: withDoc((d) => Object.defineProperty(d.data, key, { value: [{ id: 'x' }], enumerable: true })),
    });
    add('sql-or-proto-key', `a SQL or prototype key ${JSON.stringify(key)} as the value of users[0].role`, {
      doc: withRow('users', 0, (r) => (r.role = key)),
    });
  }
  for (const key of ['__proto__', 'constructor']) {
    add('sql-or-proto-key', `metadata.${key}.version = "9.9"`, {
      doc: withDoc((d) => Object.defineProperty(d.metadata, key, { value: { version: '9.9' }, enumerable: true })),
    });
  }

  // Huge strings where no huge string fits (text columns take any length, so those are not here).
  for (const size of [64 * 1024, 1024 * 1024 + 17, 3 * 1024 * 1024]) {
    const big = 'A'.repeat(size);
    add('huge-string', `users[0].role is a ${size}-byte string`, { doc: withRow('users', 0, (r) => (r.role = big)) });
    add('huge-string', `loans[0].principal is a ${size}-byte string of digits`, {
      doc: withRow('loans', 0, (r) => (r.principal = '9'.repeat(size))),
    });
    add('huge-string', `repayments[0].paidAt is a ${size}-byte string`, {
      doc: withRow('repayments', 0, (r) => (r.paidAt = big)),
    });
    add('huge-string', `metadata.version is a ${size}-byte string`, {
      doc: withDoc((d) => (d.metadata.version = big)),
    });
    add('huge-string', `loans[0].unionMemberId is a ${size}-byte id`, {
      doc: withRow('loans', 0, (r) => (r.unionMemberId = big)),
    });
    add('huge-string', `a ${size}-byte field name in loans[0]`, {
      doc: withRow('loans', 0, (r) => (r[`f${big}`] = 1)),
    });
    add('huge-string', `a ${size}-byte table name`, { doc: withDoc((d) => (d.data[`t${big}`] = [])) });
  }

  // Deep nesting: rows, column values and metadata nested deep (text built by hand: no recursion).
  const json = (doc: BackupDocument) => JSON.stringify(doc);
  for (const depth of [100, 600, 5_000, 100_000]) {
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
    ] as const) {
      const nest = deepJson(depth, open, close);
      const shape = open === '[' ? 'arrays' : 'objects';
      const fileOf = (text: string) => Buffer.from(text);
      add('deep-nesting', `a row of data.users is ${shape} ${depth} deep`, {
        file: fileOf(json(base).replace('"users":[', `"users":[${nest},`)),
      });
      add('deep-nesting', `users[0].role is ${shape} ${depth} deep`, {
        file: fileOf(json(base).replace('"role":"', `"role":${nest},"x":"`)),
      });
      add('deep-nesting', `metadata.options is ${shape} ${depth} deep`, {
        file: fileOf(json(base).replace('"options":', `"options":${nest},"o":`)),
      });
      add('deep-nesting', `auditLogs[0].before is ${shape} ${depth} deep`, {
        file: fileOf(json(base).replace('"auditLogs":[{', `"auditLogs":[{"before":${nest},"b":0,`)),
      });
    }
  }

  // Numbers out of range for their column.
  const outOfRange: Array<[string, string, unknown]> = [
    ['loans', 'termMonths', 2147483648],
    ['loans', 'termMonths', -2147483649],
    ['loans', 'termMonths', 1e20],
    ['loanTypes', 'durationMonths', 99999999999],
    ['auditLogs', 'id', 9223372036854775808n],
    ['auditLogs', 'id', -9223372036854775809n],
    ['auditLogs', 'id', 1e300],
    ['loans', 'principal', 1e12],
    ['loans', 'principal', '-1000000000000.00'],
    // biome-ignore lint/correctness/noPrecisionLoss: hostile on purpose, a number JSON cannot carry (Infinity)
    ['loans', 'totalDue', 1e400],
    ['loans', 'interestRate', 1000],
    ['loanTypes', 'interestRate', '12345.6789'],
    ['repayments', 'amount', 1e15],
    // biome-ignore lint/correctness/noPrecisionLoss: hostile on purpose, a number JSON cannot carry (-Infinity)
    ['repayments', 'amount', -1e309],
    ['loanTypes', 'maxAmount', '1e999999'],
  ];
  for (const [table, column, value] of outOfRange) {
    for (const row of new Set([0, pickRow(table)])) {
      // BigInt and 1e400 have no JSON.stringify form: written into the text by hand.
      const text =
        typeof value === 'bigint'
          ? value.toString()
          : Number.isFinite(value as number) || typeof value === 'string'
            ? JSON.stringify(value)
            : '1e400';
      const marker = `__range_${cases.length}__`;
      const doc = withRow(table, row, (r) => (r[column] = marker));
      const raw = JSON.stringify(doc).replace(`"${marker}"`, text);
      add('number-out-of-range', `data.${table}[${row}].${column} = ${text}`, { doc: new RawJson(raw) });
    }
  }
  add('number-out-of-range', 'metadata.recordCounts.users is -1', {
    doc: withDoc((d) => ((d.metadata.recordCounts as Record<string, number>).users = -1)),
  });
  add('number-out-of-range', 'metadata.recordCounts.loans is 1e300', {
    doc: withDoc((d) => ((d.metadata.recordCounts as Record<string, number>).loans = 1e300)),
  });

  // Invalid dates.
  const badTimes = [
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T25:00:00Z',
    '2026-01-01T12:61:00Z',
    '0000-01-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '',
    'T',
    '2026-01-01T00:00:00+99:00',
  ];
  const badDates = ['2026-02-30', '2026-13-01', '0000-01-01', '2026-02-29', '20260101x', '1999-00-00'];
  for (const [table, column] of [
    ['users', 'createdAt'],
    ['loans', 'appliedAt'],
    ['repayments', 'paidAt'],
    ['auditLogs', 'createdAt'],
    ['unions', 'updatedAt'],
    ['unionMembers', 'joinedAt'],
    ['sessions', 'expiresAt'],
  ] as const) {
    if (rowsOf(table).length === 0) continue;
    for (const value of badTimes)
      add('invalid-date', `data.${table}[0].${column} = ${JSON.stringify(value)}`, {
        doc: withRow(table, 0, (r) => (r[column] = value)),
      });
  }
  for (const [table, column] of [
    ['unionMembers', 'dateOfBirth'],
    ['loans', 'dueDate'],
  ] as const) {
    for (const value of badDates)
      add('invalid-date', `data.${table}[0].${column} = ${JSON.stringify(value)}`, {
        doc: withRow(table, 0, (r) => (r[column] = value)),
      });
  }
  for (const value of ['yesterday at noon', '2026-02-30T00:00:00Z', 12345]) {
    add('invalid-date', `metadata.timestamp = ${JSON.stringify(value)}`, {
      doc: withDoc((d) => (d.metadata.timestamp = value)),
    });
  }

  // NUL bytes: escaped in strings and keys (valid JSON, refused by PostgreSQL), raw in the file.
  for (const [table, column] of [
    ['users', 'username'],
    ['users', 'email'],
    ['unionMembers', 'firstName'],
    ['loanTypes', 'name'],
    ['users', 'firstName'],
    ['unions', 'name'],
    ['loans', 'notes'],
    ['repayments', 'reference'],
    ['auditLogs', 'action'],
    ['loans', 'status'],
    ['loans', 'principal'],
  ] as const) {
    for (const where of ['start', 'middle', 'end']) {
      add('nul-byte', `data.${table}[0].${column} with \\u0000 at the ${where}`, {
        doc: withRow(table, 0, (r) => {
          const s = String(r[column] ?? 'value');
          r[column] =
            where === 'start' ? `\u0000${s}` : where === 'end' ? `${s}\u0000` : `${s.slice(0, 1)}\u0000${s.slice(1)}`;
        }),
      });
    }
  }
  add('nul-byte', 'auditLogs[0].after holds \\u0000 in a key', {
    doc: withRow('auditLogs', 0, (r) => (r.after = { 'k\u0000': 1 })),
  });
  for (const at of [1, 0.25, 0.5, 0.9]) {
    const text = Buffer.from(JSON.stringify(base));
    const pos = at === 1 ? 1 : Math.floor(text.length * at);
    add('nul-byte', `a raw NUL byte at ${Math.round(at * 100)}% of the file`, {
      file: Buffer.concat([text.subarray(0, pos), Buffer.from([0]), text.subarray(pos)]),
    });
  }

  // gzip damage: truncated, corrupt, not gzip at all. Upload only.
  const gz = gzipSync(Buffer.from(JSON.stringify(base)));
  for (const at of [3, 10, 11, 20, 0.25, 0.5, 0.75, 0.9, -9, -4, -1]) {
    const end = at < 0 ? gz.length + at : at < 1 ? Math.floor(gz.length * at) : at;
    add('broken-gzip', `gzip cut after ${end} of ${gz.length} bytes`, { file: gz.subarray(0, end) });
  }
  for (let i = 0; i < 12; i++) {
    const bad = Buffer.from(gz);
    const pos = 10 + Math.floor(rand() * (gz.length - 10));
    bad[pos] = bad[pos]! ^ (1 + Math.floor(rand() * 255));
    add('broken-gzip', `gzip with byte ${pos} of ${gz.length} flipped`, { file: bad });
  }
  add('broken-gzip', 'gzip whose CRC is wrong', {
    file: Buffer.concat([gz.subarray(0, -8), Buffer.from([1, 2, 3, 4]), gz.subarray(-4)]),
  });
  add('broken-gzip', 'gzip whose length trailer is wrong', {
    file: Buffer.concat([gz.subarray(0, -4), Buffer.from([9, 9, 9, 9])]),
  });
  add('broken-gzip', 'gzip magic followed by random bytes', {
    file: Buffer.concat([
      Buffer.from([0x1f, 0x8b]),
      Buffer.from(Array.from({ length: 2048 }, () => Math.floor(rand() * 256))),
    ]),
  });
  add('broken-gzip', 'a valid gzip of text that is not JSON', { file: gzipSync('hello, this is not a backup') });
  add('broken-gzip', 'a valid gzip of a JSON array', { file: gzipSync(JSON.stringify([base])) });
  add('broken-gzip', 'a gzip inside a gzip', { file: gzipSync(gz) });
  add('broken-gzip', 'a zip archive', { file: Buffer.concat([Buffer.from('PK\u0003\u0004'), gz]) });
  add('broken-gzip', 'a .gz that is plain text', { file: Buffer.from('not gzip, not json') });
  add('broken-gzip', 'random bytes', {
    file: Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256))),
  });
  add('broken-gzip', 'gzip of valid JSON followed by trailing garbage', {
    file: Buffer.concat([gz, Buffer.from('garbage')]),
  });

  // gzip bombs: a few MB of gzip inflating to GBs, of whitespace and of one endless string.
  const bombBytes = opts.bombBytes ?? 8 * 1024 ** 3;
  const head = JSON.stringify(base).replace(/\]\}\}$/, '');
  add('gzip-bomb', `gzip inflating to ${bombBytes} bytes of whitespace between rows`, {
    file: bomb(`${head}, `, 0x20, bombBytes),
  });
  add('gzip-bomb', `gzip inflating to one ${bombBytes}-byte string in a row`, {
    file: bomb(`${head}, {"notes":"`, 0x61, bombBytes),
  });
  add('gzip-bomb', `gzip inflating to ${bombBytes} bytes of whitespace before the document`, {
    file: bomb('', 0x20, bombBytes),
  });

  // Newer or unknown format and schema versions.
  // Formats this service does not write or read: newer than 1.1 (the current one), unknown or not a version.
  for (const version of ['2.0', '1.2', '99', 2, '1.1.1', '', null, 'latest', '0.9']) {
    add('newer-version', `metadata.version = ${JSON.stringify(version)}`, {
      doc: withDoc((d) => (d.metadata.version = version)),
    });
  }
  for (const schemaVersion of ['99991231235959_from_the_future', '30000101000000_next']) {
    add('newer-version', `metadata.schemaVersion = ${JSON.stringify(schemaVersion)}`, {
      doc: withDoc((d) => (d.metadata.schemaVersion = schemaVersion)),
    });
  }
  add('newer-version', 'metadata.app is another product', { doc: withDoc((d) => (d.metadata.app = 'someone-else')) });
  return cases;
}

/** A document given as JSON text with numbers JavaScript cannot hold: kept as text (see `docBody`). */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): never {
    throw new Error('RawJson is serialised by docText, not JSON.stringify');
  }
}

/** The JSON text of a case's document (numbers beyond double precision stay as written). */
export function docText(doc: unknown): string {
  return doc instanceof RawJson ? doc.text : JSON.stringify(doc);
}

/**
 * `prefix` followed by `total` bytes of `fill`, gzip-compressed cheaply: one member holding 64 MiB
 * of `fill` is compressed once and repeated (gzip readers concatenate members).
 */
function bomb(prefix: string, fill: number, total: number): Buffer {
  const piece = 64 * 1024 * 1024;
  const member = gzipSync(Buffer.alloc(piece, fill), { level: 9 });
  const parts = [gzipSync(prefix)];
  for (let n = 0; n < total; n += piece) parts.push(member);
  return Buffer.concat(parts);
}
