import { Injectable } from '@nestjs/common';
import { Perform, Worker } from 'nestjs-verk';
import { GreetingService } from '../greeting.service';
import { describe } from './describe';

/**
 * Runs jobs of class `SendWelcomeEmail`, args `[userId, email]`. The job class name is the
 * class's own name, so a Sidekiq client can push the same job with
 * `Sidekiq::Client.push('class' => 'SendWelcomeEmail', 'args' => [1, 'a@b.c'])`.
 */
@Worker()
@Injectable()
export class SendWelcomeEmail {
  /** Where JobsController puts this job when the request names no queue (nestjs-verk does not read it). */
  static readonly queue = 'default';

  constructor(private readonly greetings: GreetingService) {}

  @Perform()
  async perform(userId: number, email: string): Promise<void> {
    // Args come from Redis as JSON and anyone can push a job: check them. Throwing sends
    // the job to the retry set with Sidekiq's backoff, and to `dead` after the last retry.
    if (!Number.isInteger(userId) || typeof email !== 'string') {
      // The types, not the values: the message is logged and stored with the job.
      throw new TypeError(`SendWelcomeEmail expects (userId: integer, email: string), got (${describe(userId)}, ${describe(email)})`);
    }
    this.greetings.send(email, 'Welcome!', this.greetings.welcomeText(userId));
  }
}
