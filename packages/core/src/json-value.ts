import type { Prisma } from '@mp/db';

/**
 * A value for a Json column (`progress`, `result`, `verification`, `input`, …), typed: Prisma's
 * `InputJsonValue` wants an index signature that plain interfaces lack, so this is the one place that
 * bridges the two. Prisma stores it as `JSON.stringify` would: Dates become ISO strings and `undefined`
 * fields disappear, so read it back with the zod schema beside its type, never by casting.
 */
export function toJsonValue<T extends object | string | number | boolean>(value: T): Prisma.InputJsonValue {
  return value as unknown as Prisma.InputJsonValue;
}
