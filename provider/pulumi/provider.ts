import type * as pulumi from "@pulumi/pulumi";
import { BatchedReader, readOne } from "../composio/batched-reader";
import type { ComposioClient } from "../composio/client";
import { ReadAhead } from "../composio/read-ahead";
import type { RemoteAccount } from "../plan/live-account";
import type { DesiredAccount, RecordedAccount, RegisteredAccount } from "../plan/account-state";
import { fingerprintAll } from "../plan/fingerprint";
import { adoptionMismatches } from "../plan/live-check";
import { planPatch, recordDiffers } from "../plan/patch-plan";
import { applyOrder, brokenConnectionNote, planStatus, statusAfter } from "../plan/status-plan";
import { processMemo, readCredentials, type ReadCredentials } from "../references/resolve";
import { apiSettings, CONFIG_NAMESPACE, type ApiSettings } from "../settings";
import { credentialFailures, readFailureMessage } from "./read-failures";
import { findProjectRoot } from "../project/workspace";
import { terminalSafe, terminalSafeLines } from "../text/terminal-text";
import { DeclaredAccounts } from "./declared-accounts";
import { PREVIEW_INPUT } from "./preview-input";
import { FleetProgress } from "./fleet-progress";

type Provider = pulumi.dynamic.ResourceProvider<DesiredAccount, RecordedAccount>;

/** What the engine sends during preview for a value not known yet. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The dynamic provider's implementation, run in the provider process (see provider-module.ts for
 * what Pulumi stores instead of this code). The API key and the stack's config secrets arrive
 * through `configure`; the client is made on first use and kept on `this`, where it is shared by
 * every resource of the process.
 *
 * Credential values exist only here: the program registers references, Check reads them to return
 * keyed fingerprints (the checked inputs), Create and Update read them again to build the PATCH.
 * Nothing this class returns, prints or throws contains a value.
 */
export class ConnectedAccountProvider implements Provider {
  private settings?: ApiSettings;
  private client?: ComposioClient;
  private reader?: BatchedReader;
  private config: (fullKey: string) => string | undefined = () => undefined;
  /** Each file is read once per process (a preview, or an up's update pass), and kept in memory only. */
  private readonly once = processMemo();
  private projectRoot?: string;
  private lookup?: ReadAhead;
  private declared?: DeclaredAccounts;
  /** Accounts checked so far in this deployment: a read ahead skips them. */
  private readonly checked: Set<string>;
  /** Adoptions Check found as the file says (Create needs no read of its own). */
  private readonly verified: Map<string, RemoteAccount>;
  /** Accounts Check refused outside a preview: their own step fails, with these words. */
  private readonly refused: Map<string, string>;
  private readonly progress = new FleetProgress();

  /** `env`: where `{ env }` references are read; the provider process's own environment (the CLI's). */
  constructor(private readonly env: Record<string, string | undefined> = process.env) {
    // Set here, not as field initializers: Pulumi's closure serializer drops initializers.
    this.checked = new Set();
    this.verified = new Map();
    this.refused = new Map();
  }

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.config = (key) => req.config.get(key);
    this.settings = apiSettings(this.config, process.env);
  }

  async check(olds: DesiredAccount, registered: RegisteredAccount): Promise<pulumi.dynamic.CheckResult<DesiredAccount>> {
    // Whether this is a preview travels as an input of its own, which is not kept.
    const { [PREVIEW_INPUT]: preview, ...news } = registered as RegisteredAccount & { [PREVIEW_INPUT]?: boolean };
    this.checked.add(news.nanoid);
    this.progress.count("checked");
    const recorded = olds?.nanoid === news.nanoid ? withoutInternal(olds) : undefined;
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (recorded?.authScheme && news.authScheme !== UNKNOWN && recorded.authScheme !== news.authScheme) {
      failures.push({
        property: "authScheme",
        reason:
          `connected account ${news.nanoid}: authScheme cannot change from ${recorded.authScheme} to ${news.authScheme}; ` +
          "Composio keeps the scheme an account was connected with. Put back the recorded scheme, or connect a new account with the new scheme and point the file at its id.",
      });
    }
    let desired: DesiredAccount = news;
    // Serializes every input: asked once per Check, not per use.
    const unknowns = hasUnknowns(news);
    // Paused and observed accounts send no credential: theirs are not read (an incident's missing secret blocks nothing).
    if (!news.paused && news.manage !== "observe" && !unknowns) {
      const read = await this.readValues(news);
      failures.push(...credentialFailures(news, read.problems, this.projectRootDir()));
      const key = this.fingerprintKey();
      if (!key && Object.keys(news.credentials ?? {}).length > 0) {
        failures.push({ property: "fingerprints", reason: `stack config ${CONFIG_NAMESPACE}:fingerprintKey is not set; fix: pulumi config set --secret ${CONFIG_NAMESPACE}:fingerprintKey "$(openssl rand -hex 32)"` });
      }
      if (read.problems.length === 0 && key) desired = withFingerprints(news, this.fingerprints(read.values));
    }
    let remote: RemoteAccount | undefined;
    if (failures.length === 0 && !news.paused && !unknowns && (!recorded || neverApplied(recorded))) {
      const verified = await this.verifyAdoption(news, preview === true);
      if (verified.problem) failures.push({ property: "", reason: verified.problem });
      remote = verified.remote;
    }
    if (failures.length > 0 && preview === true) return { inputs: desired, failures };
    // A failed Check stops the whole deployment, every other account with it: outside a preview the
    // account fails its own step (Create or Update) instead, and the others go on.
    if (failures.length > 0) this.refused.set(news.nanoid, failures.map((f) => f.reason).join("\n"));
    return { inputs: checkedInputs(recorded, desired, remote), failures: [] };
  }

  /**
   * An account about to be adopted, read from Composio (read ahead with the accounts checked after
   * it): what Composio has, and the problem when the file does not describe it. A read that fails
   * is a problem in a preview; during an update Create reads the account again.
   */
  private async verifyAdoption(news: RegisteredAccount, preview: boolean): Promise<{ remote?: RemoteAccount; problem?: string }> {
    const declared = (this.declared ??= DeclaredAccounts.load(process.cwd(), this.config(`${CONFIG_NAMESPACE}:accountsDir`)));
    let remote: RemoteAccount | undefined;
    try {
      remote = await this.readAhead().read(news.nanoid, () => declared.after(news.nanoid, this.checked, this.settings!.refreshBatchSize - 1));
    } catch (err) {
      if (!preview) return {};
      return { problem: `${terminalSafe(declared.where(news.nanoid, "id"))}: cannot check the account before adopting it: ${terminalSafeLines(err instanceof Error ? err.message : String(err))}` };
    }
    const mismatches = adoptionMismatches(news, remote);
    if (mismatches.length === 0) {
      this.verified.set(news.nanoid, remote!);
      return { remote };
    }
    return { problem: mismatches.map((m) => `${terminalSafe(`${declared.where(news.nanoid, m.field)}: ${m.message}; nothing is sent to it.`)}\n    fix: ${terminalSafe(m.fix)}`).join("\n") };
  }

  async diff(_id: string, olds: RecordedAccount | LegacyRecord, news: DesiredAccount): Promise<pulumi.dynamic.DiffResult> {
    if (olds.nanoid !== news.nanoid) return { changes: true, replaces: ["nanoid"], deleteBeforeReplace: false };
    // Refused by Check during an update: its Update fails (and the state keeps what was recorded).
    if (this.refused.has(news.nanoid)) return { changes: true };
    // A paused account is frozen: whatever the file says waits until it is unpaused. Pausing itself
    // is recorded (without a call), so that a refresh knows to leave the account alone too.
    if (news.paused) return { changes: !olds.paused };
    if (olds.manage !== news.manage || olds.paused !== news.paused) return { changes: true };
    // An observed account is only read; declaring `enabled` (or dropping it) changes what is recorded.
    if (news.manage === "observe") return { changes: (olds.enabled === undefined) !== (news.enabled === undefined) };
    if (hasUnknowns(news)) return { changes: true };
    const recorded = normalizeRecorded(olds);
    const desired = normalize(news);
    return { changes: planPatch(recorded, desired).body !== undefined || planStatus(recorded, desired) !== undefined || recordDiffers(recorded, desired) };
  }

  async create(inputs: DesiredAccount): Promise<pulumi.dynamic.CreateResult<RecordedAccount>> {
    const desired = normalize(inputs);
    // Nothing applied yet: an empty record, so that unpausing (or retrying) applies everything the file says.
    const nothingApplied = record({ ...desired, alias: undefined, removedCredentials: [], fingerprints: {}, enabled: undefined }, undefined);
    if (desired.paused) return { id: desired.nanoid, outs: nothingApplied };
    const refused = this.refused.get(desired.nanoid);
    if (refused) throw new Error(refused);
    // Adoption: the account exists in Composio already; declare it by applying what the file says,
    // once Check (or, when Check could not read it, a read here) found it as the file describes it:
    // a wrong user or toolkit would not be refused by the PATCH, and would be recorded. The read
    // also tells whether it is enabled.
    const remote = this.verified.get(desired.nanoid) ?? assertSameAccount(desired, await readOne(this.api(), desired.nanoid));
    if (desired.manage === "observe") return { id: desired.nanoid, outs: observed(desired, remote) };
    const values = await this.valuesToSend(desired);
    const known = record({ ...nothingApplied, enabled: tracked(desired, !remote.isDisabled) }, remote.status);
    const outs = await this.apply(known, desired, inputs, values);
    this.progress.count("adopted");
    return { id: desired.nanoid, outs };
  }

  async update(_id: string, olds: RecordedAccount | LegacyRecord, news: DesiredAccount): Promise<pulumi.dynamic.UpdateResult<RecordedAccount>> {
    const refused = this.refused.get(news.nanoid);
    if (refused) throw new Error(refused);
    const recorded = normalizeRecorded(olds);
    const desired = normalize(news);
    if (desired.paused) return { outs: record({ ...recorded, paused: true }, recorded.status, recorded.statusReason) };
    if (desired.manage === "observe") return { outs: observed(desired, await this.api().getConnectedAccount(desired.nanoid)) };
    const outs = await this.apply(recorded, desired, news, await this.valuesToSend(desired));
    this.progress.count("updated");
    return { outs };
  }

  /**
   * Refresh: the alias and status as Composio has them now. Credentials cannot be read back
   * (the API answers "REDACTED"), so the recorded fingerprints stay as they are.
   */
  async read(id: string, props?: RecordedAccount | LegacyRecord): Promise<pulumi.dynamic.ReadResult<RecordedAccount>> {
    if (!props || props.paused) return { id, props };
    const remote = await this.batchedReader().read(id);
    if (!remote) {
      // Returning no id tells the engine the resource is gone; it drops it from the state.
      console.error(`connected account ${id} no longer exists in Composio (404): it was deleted. Reconnect it and update the file's id, or delete the file to stop managing it.`);
      return {};
    }
    const out: RecordedAccount = { ...withoutLegacyValues(props), status: remote.status };
    if (remote.statusReason) out.statusReason = remote.statusReason;
    else delete out.statusReason;
    // Only an alias the file manages (or observes) is recorded: an unmanaged one would read as drift forever.
    if (props.alias !== undefined || props.manage === "observe") out.alias = remote.alias ?? "";
    // The same for `enabled`: recorded only for a file that says it.
    if (props.enabled !== undefined) out.enabled = !remote.isDisabled;
    if (out.alias === props.alias && out.enabled === props.enabled) return { id, props: out };
    // A drifted alias or `enabled` also becomes the recorded input, so the next preview renders it as
    // a property change (`enabled: true => false`). Credential values are never recorded, so that
    // preview lists `credentials` too; nothing is sent for them (their fingerprints are unchanged).
    const { status: _status, statusReason: _reason, ...inputs } = out;
    return { id, props: out, inputs };
  }

  /** Deleting a file stops managing the account; the account itself stays in Composio. */
  async delete(): Promise<void> {}

  /**
   * The values to send, read again (files come from this process's memo) and refused unless each
   * fingerprint matches the checked one: what is sent is what the preview showed.
   */
  private async valuesToSend(desired: DesiredAccount): Promise<Record<string, string>> {
    const read = await this.readValues(desired);
    if (read.problems.length > 0) throw new Error(readFailureMessage(desired, read.problems, this.projectRootDir()));
    const now = this.fingerprints(read.values);
    const moved = Object.keys(now).filter((field) => now[field] !== desired.fingerprints?.[field]);
    if (moved.length > 0) {
      throw new Error(
        `connected account ${desired.nanoid}: the value of ${moved.map((f) => `credentials.${f}`).join(", ")} changed after it was checked; ` +
          "nothing was sent. Run pulumi up again (the next preview shows the value as changed).",
      );
    }
    return read.values;
  }

  private readValues(account: RegisteredAccount): Promise<ReadCredentials> {
    return readCredentials(account.credentials ?? {}, { projectRoot: this.projectRootDir(), env: this.env, config: this.config, once: this.once });
  }

  private fingerprints(values: Record<string, string>): Record<string, string> {
    return fingerprintAll(this.fingerprintKey() ?? "", values);
  }

  private fingerprintKey(): string | undefined {
    return this.config(`${CONFIG_NAMESPACE}:fingerprintKey`) || undefined;
  }

  /** The engine starts the provider in the folder of `main`; `file:` references are relative to the project root above it. */
  private projectRootDir(): string {
    this.projectRoot ??= findProjectRoot(process.cwd()) ?? process.cwd();
    return this.projectRoot;
  }

  /**
   * Sends what the file declares beyond what Composio has (`known`): the PATCH and the status request,
   * in the order applyOrder gives. Returns the new record. When a later request fails after an earlier
   * one went through, the error carries the record of what was applied (the engine keeps it as the
   * resource's outputs, with the old inputs), so the next `up` sends only what is still missing.
   */
  private async apply(known: RecordedAccount, desired: DesiredAccount, inputs: DesiredAccount, values: Record<string, string>): Promise<RecordedAccount> {
    const patch = planPatch(known, desired, values);
    const status = planStatus(known, desired);
    let applied = known;
    for (const step of applyOrder(patch, status)) {
      try {
        if (step === "patch") {
          const result = await this.api().patchConnectedAccount(desired.nanoid, patch.body!);
          // A new status from the API makes the recorded reason stale.
          const done = { ...desired, enabled: tracked(desired, applied.enabled) };
          applied = result.status ? record(done, result.status) : record(done, applied.status, applied.statusReason);
        } else {
          await this.api().setConnectedAccountEnabled(desired.nanoid, status!.body);
          const next = statusAfter(status!.body.enabled, applied.status);
          applied = record({ ...applied, enabled: status!.body.enabled }, next, next === applied.status ? applied.statusReason : undefined);
          const note = status!.body.enabled ? brokenConnectionNote(desired.nanoid, next) : undefined;
          if (note) console.error(note);
        }
      } catch (err) {
        if (applied === known) throw err;
        throw partiallyApplied(err, desired.nanoid, applied, step, (inputs as { __provider?: unknown }).__provider);
      }
    }
    return record({ ...desired, enabled: tracked(desired, applied.enabled) }, applied.status, applied.statusReason);
  }

  private api(): ComposioClient {
    this.settings ??= apiSettings(() => undefined, process.env);
    // Loaded on first use: undici is most of the module's load time, and a no-op preview of
    // recorded accounts never asks the API anything.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.client ??= new (require("../composio/client") as typeof import("../composio/client")).ComposioClient(this.settings);
    return this.client;
  }

  private readAhead(): ReadAhead {
    this.lookup ??= new ReadAhead(this.api(), this.settings!.refreshBatchSize);
    return this.lookup;
  }

  private batchedReader(): BatchedReader {
    const client = this.api();
    this.reader ??= new BatchedReader(client, this.settings!.refreshBatchSize, this.settings!.refreshBatchWindowMs);
    return this.reader;
  }
}

/** The file must describe the account Composio has: a wrong scheme would otherwise be recorded and stick. */
function assertSameAccount(desired: DesiredAccount, remote: RemoteAccount | undefined): RemoteAccount {
  const mismatches = adoptionMismatches(desired, remote);
  if (mismatches.length > 0) throw new Error(terminalSafe(`${mismatches.map((m) => m.message).join("; ")}; nothing was changed in Composio. Correct the file: ${mismatches.map((m) => m.fix).join("; ")}.`));
  return remote!;
}

/**
 * What Check returns, which is what the preview shows (recorded inputs against these) and what the
 * state keeps: what the next up will apply, and nothing it will not. A paused account keeps the
 * recorded values of everything the pause freezes, so only the pause shows; unpausing shows the
 * whole pending change. An account switched to observe keeps them too (it is only read from then
 * on): nothing else is written, so nothing else may show.
 */
function checkedInputs(recorded: DesiredAccount | undefined, news: DesiredAccount, remote: RemoteAccount | undefined): DesiredAccount {
  if (news.paused) return recorded ? { ...frozen(recorded, news), paused: true } : { ...identityOf(news), paused: true };
  if (news.manage !== "observe") return news;
  if (recorded) {
    const { paused: _unpaused, ...kept } = frozen(recorded, news);
    return { ...kept, manage: "observe" };
  }
  // Observing from the start: the alias is what Composio has, as it will be recorded.
  const observedNew: DesiredAccount = { ...identityOf(news), manage: "observe" };
  if (remote) observedNew.alias = remote.alias ?? "";
  // Likewise `enabled`, where the file says it: read, as it will be recorded, never sent.
  if (remote && news.enabled !== undefined) observedNew.enabled = !remote.isDisabled;
  return observedNew;
}

/**
 * The recorded inputs, where the file is now. Inputs recorded by a version that registered
 * credential values (no `accountFile`) are not carried over: their values must not be recorded again.
 */
function frozen(recorded: DesiredAccount, news: DesiredAccount): DesiredAccount {
  const legacy = recorded.accountFile === undefined;
  const out: DesiredAccount = { ...recorded, credentials: legacy ? news.credentials : recorded.credentials };
  if (news.accountFile !== undefined) out.accountFile = news.accountFile;
  return out;
}

/** The account without anything the file declares for it: what a paused or observed adoption records. */
function identityOf(a: DesiredAccount): DesiredAccount {
  const identity: DesiredAccount = { nanoid: a.nanoid, toolkit: a.toolkit, userId: a.userId, authScheme: a.authScheme, credentials: {} };
  if (a.accountFile !== undefined) identity.accountFile = a.accountFile;
  return identity;
}

/** A record of an account adopted while paused, before anything was applied to it: unpausing adopts it. */
function neverApplied(recorded: DesiredAccount): boolean {
  return recorded.paused === true && recorded.manage !== "observe" && recorded.alias === undefined &&
    Object.keys(recorded.fingerprints ?? {}).length === 0 && (recorded.removedCredentials ?? []).length === 0;
}

/** Inputs as the engine recorded them, without the engine's own keys (`__provider`). */
function withoutInternal(inputs: DesiredAccount): DesiredAccount {
  return Object.fromEntries(Object.entries(inputs).filter(([key]) => !key.startsWith("__"))) as unknown as DesiredAccount;
}

/** True when a value is not known yet (preview). `__provider` is skipped: code, not a value (0.1's serialized provider held the marker itself). */
function hasUnknowns(inputs: RegisteredAccount): boolean {
  return Object.entries(inputs).some(([key, value]) => !key.startsWith("__") && JSON.stringify(value)?.includes(UNKNOWN));
}

/** State written by earlier versions: 0.1 recorded credential values beside their fingerprints. */
type LegacyRecord = RecordedAccount & { credentials?: unknown; accountFile?: unknown };

/** Desired state as the program declared it, with every collection present. */
function normalize(a: DesiredAccount): DesiredAccount {
  return { ...a, credentials: a.credentials ?? {}, removedCredentials: a.removedCredentials ?? [], fingerprints: a.fingerprints ?? {} };
}

/** State written by any earlier version of this provider, or by a preview, read the same way: without credential values. */
function normalizeRecorded(a: RecordedAccount | LegacyRecord): RecordedAccount {
  return { ...withoutLegacyValues(a), removedCredentials: a.removedCredentials ?? [], fingerprints: a.fingerprints ?? {} };
}

/** `enabled` as Composio has it, kept only while the file says `enabled` (else it is not managed, and not recorded). */
function tracked(desired: DesiredAccount, enabled: boolean | undefined): boolean | undefined {
  return desired.enabled === undefined ? undefined : enabled;
}

/**
 * A failure after part of the account's change went through, in the shape the dynamic-provider
 * server turns into a partial failure (`ErrorResourceInitFailed`): the engine records `properties`
 * as the outputs and shows `reasons`. The provider module rides along, as it does on every record.
 */
function partiallyApplied(err: unknown, nanoid: string, applied: RecordedAccount, failed: "patch" | "status", providerModule: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const done = failed === "status" ? "The alias and credential change was applied and is recorded" : `The account was ${applied.enabled ? "enabled" : "disabled"} and that is recorded`;
  const reason = `${message}\n  ${done}; the next pulumi up sends only what is still missing.`;
  return Object.assign(new Error(reason), { id: nanoid, properties: { ...applied, __provider: providerModule }, reasons: [reason] });
}

/** A record without what versions before references recorded under `credentials` (values); `credentials: {}` when unknown. */
function withoutLegacyValues(a: RecordedAccount | LegacyRecord): RecordedAccount {
  if (a.accountFile !== undefined) return { ...a, credentials: a.credentials ?? {} } as RecordedAccount;
  const { credentials: _values, ...recorded } = a as LegacyRecord;
  return { ...recorded, credentials: {} } as RecordedAccount;
}

/**
 * An observed account records what Composio has (`enabled` too, when the file says it), and keeps the fingerprints of what was applied
 * before it was observed (Check carries them over): observing changes nothing in Composio, so
 * managing it again sends only what differs from them.
 */
function observed(desired: DesiredAccount, remote: RemoteAccount): RecordedAccount {
  return record({ ...desired, alias: remote.alias ?? "", enabled: tracked(desired, !remote.isDisabled) }, remote.status, remote.statusReason);
}

/**
 * Outputs: plain JSON with no undefined (they travel as protobuf Structs), and no credential value:
 * outputs reach the SDK's debug log and the engine's event stream in plain text, secret or not.
 */
function record(desired: DesiredAccount, status: string | undefined, statusReason?: string): RecordedAccount {
  const out: RecordedAccount = {
    nanoid: desired.nanoid,
    toolkit: desired.toolkit,
    userId: desired.userId,
    authScheme: desired.authScheme,
    // References and non-secret literals only: what was applied, where it came from.
    credentials: desired.credentials ?? {},
  };
  if (desired.accountFile !== undefined) out.accountFile = desired.accountFile;
  // Empty collections are not recorded (state written before keeps them; both read the same).
  if (desired.removedCredentials?.length) out.removedCredentials = desired.removedCredentials;
  if (desired.fingerprints && Object.keys(desired.fingerprints).length > 0) out.fingerprints = desired.fingerprints;
  if (desired.alias !== undefined) out.alias = desired.alias;
  if (desired.manage) out.manage = desired.manage;
  if (desired.paused) out.paused = desired.paused;
  if (desired.enabled !== undefined) out.enabled = desired.enabled;
  if (status !== undefined) out.status = status;
  if (statusReason !== undefined) out.statusReason = statusReason;
  return out;
}

/** Checked inputs with the fingerprints of what was read; none recorded when there are none. */
function withFingerprints(news: RegisteredAccount, fingerprints: Record<string, string>): DesiredAccount {
  return Object.keys(fingerprints).length > 0 ? { ...news, fingerprints } : { ...news };
}
