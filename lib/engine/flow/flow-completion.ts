import { type FailureOutcome, outcomeText } from '../core/failure';
import type { HistogramWrite } from '../core/histogram';
import { type JobPayload, nowSeconds } from '../core/job';
import type { VerkScripts } from '../redis/verk-scripts';

/** Most finished dependable jobs remembered (besides the age limit), like qless's 50,000. */
export const MAX_FLOW_DONE = 100_000;

/** Where a queue manager acknowledges jobs. */
export interface FlowAckContext {
  scripts: VerkScripts;
  queue: string;
  /** The node whose in-progress list holds the job. */
  nodeId: string;
  /** How long finished dependable jobs and completed batches are remembered, seconds. */
  retentionSeconds: number;
}

/**
 * Acknowledges a finished flow-control job (completeFlowJob). Returns how many jobs it
 * put in `schedule` to run now (released dependents, a batch callback), -1 when the job
 * was no longer in in-progress. `histograms`: its run and wait times for the day's histograms.
 */
export function completeFlowJob(ctx: FlowAckContext, raw: string, job: JobPayload, histograms?: HistogramWrite): Promise<number> {
  const { queue, nodeId, retentionSeconds } = ctx;
  return ctx.scripts.completeFlowJob({ queue, nodeId, raw, job, now: nowSeconds(), retentionSeconds, maxDone: MAX_FLOW_DONE, histograms });
}

/** failJob for a flow-control job (failFlowJob). Returns 1 when it scheduled a batch callback. */
export function failFlowJob(ctx: FlowAckContext, raw: string, outcome: FailureOutcome, maxDeadJobs: number, histograms?: HistogramWrite): Promise<number> {
  const { queue, nodeId, retentionSeconds } = ctx;
  const payload = outcomeText(raw, outcome);
  return ctx.scripts.failFlowJob({ queue, nodeId, target: outcome.target, raw, payload, score: outcome.score, maxDeadJobs, now: nowSeconds(), job: outcome.payload, retentionSeconds, histograms });
}
