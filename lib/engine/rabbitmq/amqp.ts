import type * as Amqp from 'amqplib';
import { VerkConfigError } from '../errors';
import { requireOptionalPeer } from '../metrics/optional-peer';

/** The part of amqplib this broker uses (types only here: the module loads in loadAmqp). */
export type AmqpModule = Pick<typeof Amqp, 'connect'>;
export type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage, Message, Options } from 'amqplib';

/**
 * amqplib is an optional peer dependency: loaded when a node is configured with the
 * RabbitMQ broker, and only then, so a Redis-only application needs no amqplib.
 */
export function loadAmqp(): AmqpModule {
  try {
    return requireOptionalPeer('amqplib', 'broker') as AmqpModule;
  } catch (error) {
    if (error instanceof VerkConfigError) throw new VerkConfigError('Invalid Verk option "broker": install amqplib to use the RabbitMQ broker (npm install amqplib)', { field: 'broker', cause: error });
    throw error;
  }
}
