import { Injectable, Logger } from '@nestjs/common';

/**
 * An ordinary application service, here to show that workers get constructor injection
 * like any other provider. It stands in for a mailer: it only logs, so the sample needs
 * nothing but Redis.
 */
@Injectable()
export class GreetingService {
  private readonly logger = new Logger(GreetingService.name);

  welcomeText(userId: number): string {
    return `Welcome aboard, user #${userId}!`;
  }

  send(to: string, subject: string, text: string): void {
    this.logger.log(`Email to ${to}: "${subject}" ${text}`);
  }
}
