// TCP helpers for the provisioning scripts. Pure Node.
import net from 'node:net';

/**
 * True when a TCP connection to host:port succeeds within `timeoutMs`.
 * Says nothing about what listens there (use {@link redisPing} or a SQL client for that).
 */
export function isReachable(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when this process can bind host:port right now (the port is released again before resolving). */
export function isPortFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port on `host` that was bindable a moment ago: `preferred` when free, else one the kernel picks.
 * Trap: another process may take it before you bind it; start the server soon after.
 */
export async function findFreePort(preferred, host = '127.0.0.1') {
  if (preferred && (await isPortFree(preferred, host))) return preferred;
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Sends a RESP `PING` (after `AUTH` when a password is given) and resolves true on `+PONG`.
 * Any error, `-NOAUTH`, or silence past `timeoutMs` resolves false.
 */
export function redisPing({ host = '127.0.0.1', port, password, username, timeoutMs = 1000 }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buf = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      const cmds = [];
      if (password) cmds.push(username ? ['AUTH', username, password] : ['AUTH', password]);
      cmds.push(['PING']);
      socket.write(cmds.map(encodeCommand).join(''));
    });
    socket.on('data', (d) => {
      buf += d;
      if (buf.includes('+PONG')) done(true);
      else if (buf.includes('-')) done(false);
    });
  });
}

const encodeCommand = (parts) =>
  `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;

/** Host, port and credentials of a postgres:// or redis:// URL, with the scheme's default port. */
export function parseServiceUrl(url) {
  const u = new URL(url);
  const defaults = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'rediss:': 6379 };
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || defaults[u.protocol] || 0),
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, ''),
  };
}

/** True when the PostgreSQL or Redis server named by `url` accepts TCP connections (Redis: answers PING). */
export async function isUrlReachable(url, timeoutMs = 1500) {
  let parsed;
  try {
    parsed = parseServiceUrl(url);
  } catch {
    return false;
  }
  if (url.startsWith('redis')) {
    if (url.startsWith('rediss:')) return isReachable(parsed.host, parsed.port, timeoutMs);
    return redisPing({ ...parsed, timeoutMs });
  }
  return isReachable(parsed.host, parsed.port, timeoutMs);
}
