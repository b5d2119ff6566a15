import { SendPasswordReset } from './send-password-reset.worker';
import { SendWelcomeEmail } from './send-welcome-email.worker';

/**
 * The sample's workers. Listing them as providers of a module is all nestjs-verk needs:
 * it finds @Worker classes among the application's providers.
 */
export const WORKERS = [SendWelcomeEmail, SendPasswordReset];

export { SendPasswordReset, SendWelcomeEmail };
