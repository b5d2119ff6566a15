import { VerkValidationError } from '../errors';
import type { JobPayload } from '../core/job';

/** Most tags one job may carry. */
export const MAX_TAGS = 50;
/** Longest tag, in characters. */
export const MAX_TAG_LENGTH = 200;

/** Checks one tag: a non-empty string without white space, at most MAX_TAG_LENGTH characters. */
export function checkTag(tag: unknown, field: string): string {
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH || /\s/.test(tag)) {
    throw new VerkValidationError(field, `must be a non-empty string of at most ${MAX_TAG_LENGTH} characters without white space, got ${JSON.stringify(tag)}`);
  }
  return tag;
}

/** Checks a list of tags (duplicates dropped, order kept). */
export function checkTags(tags: unknown, field: string): string[] {
  if (!Array.isArray(tags)) throw new VerkValidationError(field, `must be an array of tags, got ${JSON.stringify(tags)}`);
  if (tags.length > MAX_TAGS) throw new VerkValidationError(field, `at most ${MAX_TAGS} tags, got ${tags.length}`);
  return [...new Set(tags.map((tag, index) => checkTag(tag, `${field}[${index}]`)))];
}

/**
 * Validates `tags` and `track` of a job to enqueue; tags go into the payload as `tags`
 * (qless's field). `track` is not stored: the client adds the jid to the tracked set.
 */
export function applyTagFields(input: { tags?: unknown; track?: unknown }, field: string, payload: JobPayload): void {
  if (input.tags !== undefined) {
    const tags = checkTags(input.tags, `${field}.tags`);
    if (tags.length > 0) payload.tags = tags;
  }
  if (input.track !== undefined && typeof input.track !== 'boolean') {
    throw new VerkValidationError(`${field}.track`, `must be a boolean, got ${JSON.stringify(input.track)}`);
  }
}

/** The tags stored in a payload after client middleware ran (checked again: middleware may change them). */
export function payloadTags(payload: JobPayload, field: string): string[] {
  return payload.tags === undefined ? [] : checkTags(payload.tags, `${field}.tags`);
}
