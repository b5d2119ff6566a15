import { Injectable } from '@nestjs/common';
import type { VerkHealthDetails, VerkHealthIndicator, VerkHealthIndicatorResult } from '../verk.health';
import { FakeVerk } from './fake-verk';

type VerkHealthIndicatorApi = { [Member in keyof VerkHealthIndicator]: VerkHealthIndicator[Member] };

/**
 * VerkHealthIndicator under VerkModule.forTesting() (registered under its token): there
 * is no Redis and no heartbeat to judge, so every check is up, with `mode: 'testing'`.
 */
@Injectable()
export class TestingVerkHealthIndicator implements VerkHealthIndicatorApi {
  constructor(private readonly fake: FakeVerk) {}

  async isHealthy<Key extends string>(key: Key): Promise<VerkHealthIndicatorResult<Key>> {
    return this.up(key);
  }

  async checkRedis<Key extends string>(key: Key): Promise<VerkHealthIndicatorResult<Key>> {
    return this.up(key);
  }

  async checkHeartbeat<Key extends string>(key: Key): Promise<VerkHealthIndicatorResult<Key>> {
    return this.up(key);
  }

  private up<Key extends string>(key: Key): VerkHealthIndicatorResult<Key> {
    const details: VerkHealthDetails = { status: 'up', nodeId: this.fake.nodeId, mode: 'testing' };
    return { [key]: details } as VerkHealthIndicatorResult<Key>;
  }
}
