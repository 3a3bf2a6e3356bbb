// Scans captured logs for secrets (scripts/check-secrets.mjs runs it after the tests). Pure Node.
// The test helpers record every secret they create (passwords, tokens, JWT secrets, cloud API secrets,
// password hashes) in <dir>/secrets.jsonl; the services' output and other captured text are <dir>/**/*.log.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** File the helpers append recorded secrets to, one JSON `{ kind, value }` per line. */
export const SECRETS_FILE = 'secrets.jsonl';
/** Shorter values are not searched for as exact text: they would match ordinary words. */
export const MIN_SECRET_LENGTH = 8;

/** Shapes that are secrets wherever they appear, whoever made them. */
export const PATTERNS = [
  { name: 'JWT', re: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/ },
  { name: 'scrypt password hash', re: /scrypt\$\d+\$\d+\$\d+\$/ },
  { name: 'Argon2 password hash', re: /\$argon2(?:id|i|d)\$/ },
  { name: 'Cloudinary URL with credentials', re: /cloudinary:\/\/[^:\s"'@/]+:[^@\s"']+@/ },
  // A key named api_secret with a value next to it; `"api_secret":"[Redacted]"` is what redaction leaves.
  { name: 'api_secret value', re: /api_secret\\?["']?\s*[:=]\s*\\?["']?(?!\[Redacted\])[^\s"'\\,}&]{4,}/ },
];

/** The recorded secrets (deduplicated, long enough to search for), from `<dir>/secrets.jsonl`. */
export function loadSecrets(dir) {
  const file = path.join(dir, SECRETS_FILE);
  if (!existsSync(file)) return [];
  const out = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const { kind, value } = JSON.parse(line);
      if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) out.set(value, String(kind));
    } catch {
      /* a line cut by a killed process: nothing to look for */
    }
  }
  return [...out].map(([value, kind]) => ({ kind, value }));
}

/** `text` with every recorded secret and pattern match replaced, so a report never repeats a secret. */
function mask(text, secrets) {
  let out = text;
  for (const { value } of secrets) out = out.split(value).join('[secret]');
  for (const { re } of PATTERNS) out = out.replace(new RegExp(re.source, 'g'), '[secret]');
  return out.length > 240 ? `${out.slice(0, 240)}…` : out;
}

/**
 * The lines of `text` that hold a recorded secret or a secret-shaped string:
 * `[{ line, reason, excerpt }]`, line numbers from 1, the excerpt masked.
 */
export function scanText(text, secrets) {
  const found = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const reasons = [];
    for (const { kind, value } of secrets) if (line.includes(value)) reasons.push(`recorded ${kind}`);
    for (const { name, re } of PATTERNS) if (re.test(line)) reasons.push(name);
    if (reasons.length > 0)
      found.push({ line: i + 1, reason: [...new Set(reasons)].join(', '), excerpt: mask(line, secrets) });
  }
  return found;
}

/** Every `*.log` file under `dir`, scanned: `[{ file, line, reason, excerpt }]` with `file` relative to `dir`. */
export function scanLogDir(dir) {
  if (!existsSync(dir)) return [];
  const secrets = loadSecrets(dir);
  const found = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.log')) {
        for (const hit of scanText(readFileSync(full, 'utf8'), secrets))
          found.push({ file: path.relative(dir, full), ...hit });
      }
    }
  };
  walk(dir);
  return found;
}

/** One readable line per finding, for the test command's output. */
export function formatFindings(found) {
  return found.map((f) => `  ${f.file}:${f.line}: ${f.reason}: ${f.excerpt}`).join('\n');
}
