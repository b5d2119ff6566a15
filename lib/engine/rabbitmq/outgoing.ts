/*
 * What is published, kept apart from publisher.ts (which needs amqplib's types), so the
 * public declarations of VerkRabbitEngine never name amqplib.
 */

/** One message to publish: to `exchange` with `routingKey`; `queue` is the job queue it ends in (declared first). */
export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  body: Buffer;
  /** The job queue the message ends up in, declared before the first publish to it; absent: none (dead, state). */
  queue?: string;
  /** Routed to no queue is fine (announcements on the fanout control exchange, when no node listens). */
  mayBeUnrouted?: boolean;
}

/** Publishes messages and resolves once the broker confirmed every one (see Publisher). */
export interface MessagePublisher {
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
}
