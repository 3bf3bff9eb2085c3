import { partialFailureReason, type ApplyRequest } from "../plan/lifecycle";
import type { RecordedAccount } from "../plan/account-state";

/**
 * A failure after part of the account's change went through, in the shape the dynamic-provider
 * server turns into a partial failure (`ErrorResourceInitFailed`): the engine records `properties`
 * as the outputs (so the next up sends only what is still missing) and shows `reasons`. The
 * provider module rides along, as it does on every record.
 */
export class PartiallyApplied extends Error {
  readonly id: string;
  readonly properties: Record<string, unknown>;
  readonly reasons: string[];

  constructor(cause: unknown, applied: RecordedAccount, failed: ApplyRequest["step"], providerModule: unknown) {
    super(partialFailureReason(cause instanceof Error ? cause.message : String(cause), applied, failed));
    this.id = applied.nanoid;
    this.properties = { ...applied, __provider: providerModule };
    this.reasons = [this.message];
  }
}
