import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Prometheus text exposition at GET /metrics (no auth, no new dependency): process metrics,
 * `http_requests_total{method,route,status}` counted on the root instance, and backup records by status.
 * Routes are labelled by their pattern (`/api/backup/:id`), never the raw URL, to keep cardinality bounded.
 */
export function registerMetrics(app: FastifyInstance, deps: Pick<ApiDeps, 'prisma'>): void {
  const requests = new Map<string, number>();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `method="${esc(request.method)}",route="${esc(route)}",status="${reply.statusCode}"`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const byStatus = await deps.prisma.backupRecord.groupBy({ by: ['status'], _count: { _all: true } });
    const lines = [
      '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      '# TYPE process_cpu_seconds_total counter',
      `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${mem.rss}`,
      '# HELP nodejs_heap_used_bytes V8 heap used in bytes.',
      '# TYPE nodejs_heap_used_bytes gauge',
      `nodejs_heap_used_bytes ${mem.heapUsed}`,
      '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${Math.round(Date.now() / 1000 - process.uptime())}`,
      '# HELP http_requests_total HTTP requests answered, by method, route pattern and status.',
      '# TYPE http_requests_total counter',
      ...[...requests].map(([labels, n]) => `http_requests_total{${labels}} ${n}`),
      '# HELP backup_records Backup records by status.',
      '# TYPE backup_records gauge',
      ...byStatus.map((r) => `backup_records{status="${r.status}"} ${r._count._all}`),
    ];
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${lines.join('\n')}\n`);
  });
}
