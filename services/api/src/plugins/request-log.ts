import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * One info line per request instead of Fastify's two ("incoming request" at arrival, with the whole
 * request serialised, and "request completed"): under load the pair doubled the logging work of every
 * request. The arrival line moves to debug; the completion line carries method, URL, status and time.
 * Every other Fastify log line (stream errors, 404s, serializer errors) keeps its default, and the
 * error handler still logs each 5xx with the request's context.
 */
export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
