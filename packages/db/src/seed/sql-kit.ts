// SQL expression builders for deterministic pseudo-random data. Every value is a pure function of
// (seed, salt, row ordinal) computed by PostgreSQL's hashint8extended, so the same seed and anchor give
// byte-identical rows, whatever the plan or the order rows are produced in.

/** One statement under construction: its bind values and the seeded expression helpers. */
export interface Statement {
  readonly values: unknown[];
  /** Adds a bind value and returns its placeholder with an explicit cast, e.g. `$3::text[]`. */
  param(value: unknown, cast: string): string;
  /** A 64-bit hash (bigint, may be negative) of `ordinal` under `salt`. */
  hash(ordinal: string, salt: number): string;
  /** An integer in [0, n): `n` is a number or an SQL expression. */
  pick(ordinal: string, salt: number, n: number | string): string;
  /** A float in [0, 1). */
  unit(ordinal: string, salt: number): string;
  /** True for about `percent` % of ordinals. */
  chance(ordinal: string, salt: number, percent: number): string;
  /** An interval of up to `maxSeconds` with microsecond resolution. */
  micros(ordinal: string, salt: number, maxSeconds: number | string): string;
  /** `array[1 + pick(...)]` for a text array param. */
  choose(list: readonly string[], ordinal: string, salt: number): string;
  /**
   * A v4-shaped UUID (version 4, variant 10xx, so strict UUID validators accept it) for row `ordinal`
   * of the table numbered `table`. Unique per table (ordinals below 2^32): its last 8 hex digits are a
   * bijection of the ordinal.
   * FKs are computed with the same call on the parent's ordinal, so no join is needed.
   */
  uuid(table: number, ordinal: string): string;
}

const MASK31 = 2147483647;

/**
 * 8 hex digits that are a bijection of `ordinal` modulo 2^32 (multiplication by an odd constant),
 * so values built from it stay unique while looking random.
 */
export function scrambleHex(ordinal: string, offset: number): string {
  return `lpad(to_hex(((${ordinal})::int8 * 2654435761 + ${offset % 2 ** 32}) & 4294967295), 8, '0')`;
}
const MASK62 = '4611686018427387903';

/** Starts a statement for `seed` (an integer in [0, 2^31)). */
export function createStatement(seed: number): Statement {
  const values: unknown[] = [];
  const hash = (ordinal: string, salt: number): string =>
    `hashint8extended((${ordinal})::int8, ${seed * 65536 + salt})`;
  const statement: Statement = {
    values,
    param(value, cast) {
      values.push(value);
      return `$${values.length}::${cast}`;
    },
    hash,
    pick: (ordinal, salt, n) => `((${hash(ordinal, salt)} & ${MASK62}) % (${n}))`,
    unit: (ordinal, salt) => `((${hash(ordinal, salt)} & ${MASK31})::float8 / 2147483648.0)`,
    chance: (ordinal, salt, percent) => `((${hash(ordinal, salt)} & ${MASK62}) % 10000 < ${Math.round(percent * 100)})`,
    micros: (ordinal, salt, maxSeconds) =>
      `(interval '1 microsecond' * ((${hash(ordinal, salt)} & ${MASK62}) % ((${maxSeconds})::int8 * 1000000)))`,
    choose(list, ordinal, salt) {
      return `(${statement.param(list, 'text[]')})[1 + ${statement.pick(ordinal, salt, list.length)}]`;
    },
    uuid(table, ordinal) {
      const salt = 60000 + table * 8;
      const hex = (bits: string, width: number, s: number): string =>
        `lpad(to_hex(${hash(ordinal, salt + s)} & ${bits}), ${width}, '0')`;
      const variant = `to_hex((${hash(ordinal, salt + 3)} & 16383) | 32768)`;
      const tail = `${hex('65535', 4, 4)} || ${scrambleHex(ordinal, seed * 8 + table)}`;
      return (
        `(${hex('4294967295', 8, 0)} || '-' || ${hex('65535', 4, 1)} || '-4' || ${hex('4095', 3, 2)} || '-' || ` +
        `${variant} || '-' || ${tail})`
      );
    },
  };
  return statement;
}

/** Table numbers for `Statement.uuid`: part of every generated id, never reorder. */
export const ID_SPACE = {
  users: 1,
  unions: 2,
  members: 3,
  loanTypes: 4,
  loans: 5,
  repayments: 6,
  sessions: 7,
  /** Users that "no longer exist": audit actors whose accounts were deleted. */
  formerUsers: 8,
} as const;
