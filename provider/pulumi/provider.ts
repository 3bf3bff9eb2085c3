import type * as pulumi from "@pulumi/pulumi";
import { BatchedReader, readOne } from "../composio/batched-reader";
import { ComposioClient } from "../composio/client";
import { ReadAhead } from "../composio/read-ahead";
import type { RemoteAccount } from "../plan/live-account";
import type { DesiredAccount, RecordedAccount, RegisteredAccount } from "../plan/account-state";
import { fingerprintAll } from "../plan/fingerprint";
import {
  adoptionRefusal, adoptionStart, afterPatch, missingFingerprintKey, afterStatus, appliedRecord, authSchemeProblem, checkedInputs, checkNeeds, diffAccount, goneNote, hasUnknowns,
  movedSinceCheck, normalize, normalizeRecorded, nothingApplied, observed, pausedRecord, planApply, recordedInputs,
  refreshed, refreshes, withFingerprints, type LegacyRecord,
} from "../plan/lifecycle";
import { adoptionMismatches } from "../plan/live-check";
import { processMemo, readCredentials, type ReadCredentials } from "../references/resolve";
import { settingsFrom, type Settings } from "../settings";
import { credentialFailures, readFailureMessage } from "./read-failures";
import { findProjectRoot } from "../project/workspace";
import { terminalSafe, terminalSafeLines } from "../text/terminal-text";
import { DeclaredAccounts } from "./declared-accounts";
import { PREVIEW_INPUT } from "./preview-input";
import { adoptionNote } from "./adoption-note";
import { FLEET_PROBLEMS_INPUT, fleetFailureMessage, fleetProblems, otherAccountsNote } from "./fleet-check";
import { sortProblems, type AccountProblem } from "../accounts/problem";
import { FleetProgress } from "./fleet-progress";
import { PartiallyApplied } from "./partially-applied";

type Provider = pulumi.dynamic.ResourceProvider<DesiredAccount, RecordedAccount>;

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
  private settings?: Settings;
  private client?: ComposioClient;
  private reader?: BatchedReader;
  private config: (fullKey: string) => string | undefined = () => undefined;
  /** Each file is read once per process (a preview, or an up's update pass), and kept in memory only. */
  private readonly once = processMemo();
  private projectRoot?: string;
  private lookup?: ReadAhead;
  private declared?: DeclaredAccounts;
  /** Accounts checked so far in this deployment: a read ahead skips them. */
  private readonly checked = new Set<string>();
  /** Adoptions Check found as the file says (Create needs no read of its own). */
  private readonly verified = new Map<string, RemoteAccount>();
  /** Accounts Check refused outside a preview: their own step fails, with these words. */
  private readonly refused = new Map<string, string>();
  private readonly progress = new FleetProgress();

  /** `env`: where `{ env }` references are read; the provider process's own environment (the CLI's). */
  constructor(private readonly env: Record<string, string | undefined> = process.env) {}

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.config = (key) => req.config.get(key);
    this.settings = settingsFrom(this.config, process.env);
  }

  async check(olds: DesiredAccount, registered: RegisteredAccount): Promise<pulumi.dynamic.CheckResult<DesiredAccount>> {
    // Whether this is a preview travels as an input of its own, which is not kept.
    const { [PREVIEW_INPUT]: preview, [FLEET_PROBLEMS_INPUT]: reported, ...news } = registered as RegisteredAccount & { [PREVIEW_INPUT]?: boolean; [FLEET_PROBLEMS_INPUT]?: AccountProblem[] };
    // Reference problems the program found in a preview (see problem-carrier.ts): fail with the fleet's.
    if (reported) return { inputs: news, failures: [{ property: "", reason: fleetFailureMessage(await this.fleetProblems(this.checked, reported)) }] };
    this.checked.add(news.nanoid);
    this.progress.count("checked");
    const recorded = recordedInputs(olds, news);
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const schemeChange = authSchemeProblem(recorded, news);
    if (schemeChange) failures.push({ property: "authScheme", reason: schemeChange });
    let desired: DesiredAccount = news;
    // Serializes every input: asked once per Check, not per use.
    const needs = checkNeeds(news, recorded, hasUnknowns(news));
    if (needs.credentials) {
      const read = await this.readValues(news);
      failures.push(...credentialFailures(news, read.problems, this.projectRootDir()));
      const key = this.configured().fingerprintKey;
      const missingKey = missingFingerprintKey(news, key);
      if (missingKey) failures.push({ property: "fingerprints", reason: missingKey });
      if (read.problems.length === 0 && key) desired = withFingerprints(news, this.fingerprints(read.values));
    }
    let remote: RemoteAccount | undefined;
    if (failures.length === 0 && needs.adoption) {
      const verified = await this.verifyAdoption(news, preview === true);
      if (verified.problem) failures.push({ property: "", reason: verified.problem });
      remote = verified.remote;
    }
    if (failures.length > 0 && preview === true) {
      // The engine stops at this failure: it names the other accounts' problems too.
      const others = otherAccountsNote(await this.fleetProblems(this.checked));
      return { inputs: desired, failures: others ? [...failures, { property: "", reason: others }] : failures };
    }
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
    const declared = this.declaredAccounts();
    let remote: RemoteAccount | undefined;
    try {
      remote = await this.readAhead().read(news.nanoid, () => declared.after(news.nanoid, this.checked, this.configured().api.refreshBatchSize - 1));
    } catch (err) {
      if (!preview) return {};
      return { problem: `${terminalSafe(declared.where(news.nanoid, "id"))}: cannot check the account before adopting it: ${terminalSafeLines(err instanceof Error ? err.message : String(err))}` };
    }
    const mismatches = adoptionMismatches(news, remote);
    if (mismatches.length === 0) {
      this.verified.set(news.nanoid, remote!);
      const note = preview ? adoptionNote(declared.fileOf(news.nanoid), news, remote!) : undefined;
      if (note) process.stderr.write(`${note}\n`);
      return { remote };
    }
    return { problem: mismatches.map((m) => `${terminalSafe(`${declared.where(news.nanoid, m.field)}: ${m.message}; nothing is sent to it.`)}\n    fix: ${terminalSafe(m.fix)}`).join("\n") };
  }

  /** The problems of the declared accounts not in `checked`, with those the program `reported` (see fleet-check.ts). */
  private async fleetProblems(checked: ReadonlySet<string>, reported: readonly AccountProblem[] = []): Promise<AccountProblem[]> {
    try {
      const declared = this.declaredAccounts();
      const found = await fleetProblems(declared.except(checked), {
        readRemote: (ids) => this.readAhead().readMany(ids),
        readCredentials: (account) => this.readValues(account),
        projectRoot: this.projectRootDir(),
      }, new Set(reported.map((p) => p.file)));
      return sortProblems([...reported, ...found]);
    } catch {
      // The pass only adds to a failure already decided: without it, that failure is still told.
      return sortProblems([...reported]);
    }
  }

  async diff(_id: string, olds: RecordedAccount | LegacyRecord, news: DesiredAccount): Promise<pulumi.dynamic.DiffResult> {
    return diffAccount(olds, news, this.refused.has(news.nanoid));
  }

  async create(inputs: DesiredAccount): Promise<pulumi.dynamic.CreateResult<RecordedAccount>> {
    const desired = normalize(inputs);
    if (desired.paused) return { id: desired.nanoid, outs: nothingApplied(desired) };
    const refused = this.refused.get(desired.nanoid);
    if (refused) throw new Error(refused);
    // Adoption: the account exists in Composio already; declare it by applying what the file says,
    // once Check (or, when Check could not read it, a read here) found it as the file describes it:
    // a wrong user or toolkit would not be refused by the PATCH, and would be recorded. The read
    // also tells whether it is enabled.
    const remote = this.verified.get(desired.nanoid) ?? assertSameAccount(desired, await readOne(this.api(), desired.nanoid));
    if (desired.manage === "observe") return { id: desired.nanoid, outs: observed(desired, remote) };
    const outs = await this.apply(adoptionStart(desired, remote), desired, inputs, await this.valuesToSend(desired));
    this.progress.count("adopted");
    return { id: desired.nanoid, outs };
  }

  async update(_id: string, olds: RecordedAccount | LegacyRecord, news: DesiredAccount): Promise<pulumi.dynamic.UpdateResult<RecordedAccount>> {
    const refused = this.refused.get(news.nanoid);
    if (refused) throw new Error(refused);
    const recorded = normalizeRecorded(olds);
    const desired = normalize(news);
    if (desired.paused) return { outs: pausedRecord(recorded) };
    if (desired.manage === "observe") return { outs: observed(desired, await this.api().getConnectedAccount(desired.nanoid)) };
    const outs = await this.apply(recorded, desired, news, await this.valuesToSend(desired));
    this.progress.count("updated");
    return { outs };
  }

  /** Refresh: what Composio has now (see `refreshed`). */
  async read(id: string, props?: RecordedAccount | LegacyRecord): Promise<pulumi.dynamic.ReadResult<RecordedAccount>> {
    if (!refreshes(props)) return { id, props };
    const remote = await this.batchedReader().read(id);
    if (!remote) {
      // Returning no id tells the engine the resource is gone; it drops it from the state.
      console.error(goneNote(id));
      return {};
    }
    return { id, ...refreshed(props, remote) };
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
    const moved = movedSinceCheck(desired, this.fingerprints(read.values));
    if (moved) throw new Error(moved);
    return read.values;
  }

  private readValues(account: RegisteredAccount): Promise<ReadCredentials> {
    return readCredentials(account.credentials ?? {}, { projectRoot: this.projectRootDir(), env: this.env, config: this.config, once: this.once });
  }

  private fingerprints(values: Record<string, string>): Record<string, string> {
    return fingerprintAll(this.configured().fingerprintKey ?? "", values);
  }

  /** The stack's settings, from `configure` (the environment's alone when the engine sent no config). */
  private configured(): Settings {
    this.settings ??= settingsFrom(() => undefined, process.env);
    return this.settings;
  }

  /** The engine starts the provider in the folder of `main`; `file:` references are relative to the project root above it. */
  /** The account files the stack declares, loaded once per process (live checks read ahead in their order). */
  private declaredAccounts(): DeclaredAccounts {
    return (this.declared ??= DeclaredAccounts.load(process.cwd(), this.configured().accountsDir));
  }

  private projectRootDir(): string {
    this.projectRoot ??= findProjectRoot(process.cwd()) ?? process.cwd();
    return this.projectRoot;
  }

  /**
   * Sends what the file declares beyond what Composio has (`known`), in the order planApply gives,
   * and returns the new record. When a later request fails after an earlier one went through, the
   * error carries the record of what was applied (see PartiallyApplied).
   */
  private async apply(known: RecordedAccount, desired: DesiredAccount, inputs: DesiredAccount, values: Record<string, string>): Promise<RecordedAccount> {
    let applied = known;
    for (const request of planApply(known, desired, values)) {
      try {
        if (request.step === "patch") {
          const result = await this.api().patchConnectedAccount(desired.nanoid, request.body);
          applied = afterPatch(applied, desired, result.status);
        } else {
          await this.api().setConnectedAccountEnabled(desired.nanoid, request.body);
          const after = afterStatus(applied, request.body.enabled);
          applied = after.record;
          if (after.note) console.error(after.note);
        }
      } catch (err) {
        if (applied === known) throw err;
        throw new PartiallyApplied(err, applied, request.step, (inputs as { __provider?: unknown }).__provider);
      }
    }
    return appliedRecord(desired, applied);
  }

  private api(): ComposioClient {
    // Made on first use: its transport loads undici, and a no-op preview of recorded accounts never asks the API anything.
    this.client ??= new ComposioClient(this.configured().api);
    return this.client;
  }

  private readAhead(): ReadAhead {
    this.lookup ??= new ReadAhead(this.api(), this.configured().api.refreshBatchSize);
    return this.lookup;
  }

  private batchedReader(): BatchedReader {
    const client = this.api();
    this.reader ??= new BatchedReader(client, this.configured().api.refreshBatchSize, this.configured().api.refreshBatchWindowMs);
    return this.reader;
  }
}

/** The account as Composio has it, when the file describes it. */
function assertSameAccount(desired: DesiredAccount, remote: RemoteAccount | undefined): RemoteAccount {
  const refusal = adoptionRefusal(desired, remote);
  if (refusal) throw new Error(terminalSafeLines(refusal));
  return remote!;
}
