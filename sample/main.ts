import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { redactSecrets } from 'nestjs-verk';
import { AppModule } from './app.module';
import { resolveRedisUrl } from './redis-bootstrap';

async function main(): Promise<void> {
  const logger = new Logger('Sample');
  const port = Number(process.env.PORT || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    logger.error(`PORT=${process.env.PORT} is not a port number`);
    process.exit(1);
  }

  // Before Nest: without Redis the app could only log reconnect attempts.
  const redisUrl = await resolveRedisUrl();

  const app = await NestFactory.create(AppModule.register(redisUrl));
  // On SIGTERM/SIGINT Nest runs VerkService's shutdown: no new jobs, running ones finish
  // (up to shutdownTimeout), the rest go back to their queue. useProcessExit ends with
  // process.exit(), so 'exit' handlers run, e.g. the one stopping a private redis-server.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  await app.listen(port);

  const url = `http://localhost:${port}`;
  logger.log(`Listening on ${url} (GET ${url}/ for help)`);
  logger.log(`Try: curl -X POST ${url}/jobs -H 'content-type: application/json' -d '{"class":"SendWelcomeEmail","args":[1,"ada@example.com"]}'`);
}

main().catch((error: unknown) => {
  // A start-up error may quote configuration: no credentials in the log.
  new Logger('Sample').error(redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error)));
  process.exit(1);
});
