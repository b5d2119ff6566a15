import { Injectable } from '@nestjs/common';
import { Perform, Worker } from 'nestjs-verk';
import { GreetingService } from '../greeting.service';
import { describe } from './describe';

/**
 * Runs jobs of class `SendPasswordReset`, args `[email]`. A user waits for this mail, so it
 * goes to the `priority` queue, which has its own concurrency and is not stuck behind a
 * backlog of welcome emails in `default`.
 */
@Worker()
@Injectable()
export class SendPasswordReset {
  /** Where JobsController puts this job when the request names no queue (nestjs-verk does not read it). */
  static readonly queue = 'priority';

  constructor(private readonly greetings: GreetingService) {}

  @Perform()
  async perform(email: string): Promise<void> {
    // The type, not the value: the message is logged and stored with the job.
    if (typeof email !== 'string') throw new TypeError(`SendPasswordReset expects (email: string), got (${describe(email)})`);
    this.greetings.send(email, 'Reset your password', 'Follow this link within 30 minutes: https://example.com/reset');
  }
}
