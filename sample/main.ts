import type { Server } from 'node:net';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { redactSecrets } from 'nestjs-verk';
import { AppModule } from './app.module';
import { resolveRedisUrl } from './redis-bootstrap';

/**
 * The sample has no authentication: anyone who reaches it can enqueue jobs. So it listens
 * on loopback unless HOST says otherwise (HOST=0.0.0.0 in a container, behind your own
 * access control).
 */
const DEFAULT_HOST = '127.0.0.1';

/** Largest request body; a job request is a few hundred bytes, this leaves room and no more. */
const MAX_BODY = '16kb';

async function main(): Promise<void> {
  const logger = new Logger('Sample');
  const host = process.env.HOST || DEFAULT_HOST;
  const port = Number(process.env.PORT || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    logger.error(`PORT=${process.env.PORT} is not a port number`);
    process.exit(1);
  }

  // Before Nest: without Redis the app could only log reconnect attempts.
  const redisUrl = await resolveRedisUrl();

  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(redisUrl));
  // Express answers 413 beyond the limit, before the body reaches a controller (Nest's default is 100 kB).
  app.useBodyParser('json', { limit: MAX_BODY });
  app.useBodyParser('urlencoded', { limit: MAX_BODY, extended: true });
  // On SIGTERM/SIGINT Nest runs VerkService's shutdown: no new jobs, running ones finish
  // (up to shutdownTimeout), the rest go back to their queue. useProcessExit ends with
  // process.exit(), so 'exit' handlers run, e.g. the one stopping a private redis-server.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  await app.listen(port, host);

  // The port actually bound (PORT=0 picks a free one).
  const bound = (app.getHttpServer() as Server).address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof bound === 'object' && bound ? bound.port : port}`;
  logger.log(`Listening on ${url} (GET ${url}/ for help)`);
  logger.log(`Try: curl -X POST ${url}/jobs -H 'content-type: application/json' -d '{"class":"SendWelcomeEmail","args":[1,"ada@example.com"]}'`);
}

main().catch((error: unknown) => {
  // A start-up error may quote configuration: no credentials in the log.
  new Logger('Sample').error(redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error)));
  process.exit(1);
});
