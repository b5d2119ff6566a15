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
    // Neither the address nor the text: they come from the job's args, which are user
    // data, and logs are read by more people than the mail is.
    this.logger.log(`Email "${subject}" sent (${text.length} characters to ${to.length > 0 ? 'one address' : 'no address'}; neither is logged)`);
  }
}
