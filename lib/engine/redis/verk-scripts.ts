import type { ChainableCommander, ClientContext } from 'ioredis';
import type { Keys } from './keys';
import { AdminScripts } from './facade/admin-scripts';
import { CoreScripts } from './facade/core-scripts';
import { FlowScripts } from './facade/flow-scripts';
import { HistoryScripts } from './facade/history-scripts';
import { LimitsScripts } from './facade/limits-scripts';
import { RecurringScripts } from './facade/recurring-scripts';
import { ScriptBase } from './facade/script-base';

export type { RelocateTarget } from './facade/admin-scripts';
export type { EnqueueFlowReply, FailedJobParams, FlowJob, InProgressRef } from './facade/script-base';

/**
 * The one place that calls the Lua scripts of lua/: one method per script, taking named
 * parameters and building the script's KEYS and ARGV in the order its header documents.
 * Callers never list keys by position, so a script's signature changes here alone.
 *
 * Over a connection a method returns a Promise of the script's reply; over a MULTI or a
 * pipeline (VerkScripts.inPipeline) it queues the call and the reply comes with exec().
 *
 * The methods are written by area in facade/ (core, limits, flow, admin, history,
 * recurring: the folders of lua/) and copied onto this class's prototype below, so a call
 * is what it was when they were written here: an own method of VerkScripts.prototype, no
 * wrapper, nothing allocated per call (the shared helpers, run and its key builders, are
 * inherited from ScriptBase). test/script-facade.test.ts checks every method is there.
 */
// The interface half of the class: declares the areas' methods on VerkScripts (their
// protected helpers come from ScriptBase, as the class's own do).
export interface VerkScripts<Context extends ClientContext = { type: 'default' }>
  extends CoreScripts<Context>,
    LimitsScripts<Context>,
    FlowScripts<Context>,
    AdminScripts<Context>,
    HistoryScripts<Context>,
    RecurringScripts<Context> {}

export class VerkScripts<Context extends ClientContext = { type: 'default' }> extends ScriptBase<Context> {
  /** The façade over a MULTI or pipeline: each method queues its call (replies come with exec()). */
  static inPipeline(pipeline: ChainableCommander, keys: Keys): VerkScripts<PipelineContext> {
    return new VerkScripts<PipelineContext>(pipeline, keys);
  }
}

/** ioredis's context of a MULTI or pipeline (ChainableCommander). */
type PipelineContext = { type: 'pipeline'; mapping: 'resp2' };

/** An area class of facade/ (abstract: only its prototype is used). */
type ScriptArea = abstract new (...args: never[]) => ScriptBase<ClientContext>;

/**
 * Copies each area's methods (and its private helpers) onto VerkScripts.prototype, as
 * own properties. A name defined twice is a mistake the process should not start with.
 */
function composeScripts(target: typeof VerkScripts, areas: readonly ScriptArea[]): void {
  for (const area of areas) {
    for (const name of Object.getOwnPropertyNames(area.prototype)) {
      if (name === 'constructor') continue;
      if (Object.prototype.hasOwnProperty.call(target.prototype, name)) throw new Error(`nestjs-verk: two script façade areas define ${name} (${area.name})`);
      Object.defineProperty(target.prototype, name, Object.getOwnPropertyDescriptor(area.prototype, name) as PropertyDescriptor);
    }
  }
}

composeScripts(VerkScripts, [CoreScripts, LimitsScripts, FlowScripts, AdminScripts, HistoryScripts, RecurringScripts]);
