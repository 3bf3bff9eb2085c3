import type * as pulumi from "@pulumi/pulumi";
import { BatchedReader } from "../composio/batched-reader";
import { ComposioClient } from "../composio/client";
import type { RemoteAccount } from "../composio/remote-account";
import type { DesiredAccount, RecordedAccount } from "../plan/account-state";
import { planPatch, recordDiffers } from "../plan/patch-plan";
import { FleetProgress } from "./fleet-progress";
import { apiSettings, type ApiSettings } from "../settings";

type Provider = pulumi.dynamic.ResourceProvider<DesiredAccount, RecordedAccount>;

/** What the engine sends during preview for a value not known yet. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The dynamic provider's implementation, run in the provider process (see provider-module.ts for
 * what Pulumi stores instead of this code). The API key arrives through `configure`; the client is made
 * on first use and kept on `this`, where it is shared by every resource of the process.
 */
export class ConnectedAccountProvider implements Provider {
  private settings?: ApiSettings;
  private client?: ComposioClient;
  private reader?: BatchedReader;
  private readonly progress = new FleetProgress();

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.settings = apiSettings((key) => req.config.get(key), process.env);
  }

  async check(olds: DesiredAccount, news: DesiredAccount): Promise<pulumi.dynamic.CheckResult<DesiredAccount>> {
    this.progress.count("checked");
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (olds?.nanoid === news.nanoid && olds.authScheme && news.authScheme !== UNKNOWN && olds.authScheme !== news.authScheme) {
      failures.push({
        property: "authScheme",
        reason:
          `connected account ${news.nanoid}: authScheme cannot change from ${olds.authScheme} to ${news.authScheme}; ` +
          "Composio keeps the scheme an account was connected with. Put back the recorded scheme, or connect a new account with the new scheme and point the file at its id.",
      });
    }
    return { inputs: news, failures };
  }

  async diff(_id: string, olds: RecordedAccount | LegacyRecord, news: DesiredAccount): Promise<pulumi.dynamic.DiffResult> {
    if (olds.nanoid !== news.nanoid) return { changes: true, replaces: ["nanoid"], deleteBeforeReplace: false };
    // A paused account is frozen: whatever the file says waits until it is unpaused. Pausing itself
    // is recorded (without a call), so that a refresh knows to leave the account alone too.
    if (news.paused) return { changes: !olds.paused };
    if (olds.manage !== news.manage || olds.paused !== news.paused) return { changes: true };
    if (news.manage === "observe") return { changes: false };
    if (hasUnknowns(news)) return { changes: true };
    const recorded = normalizeRecorded(olds);
    const desired = normalize(news);
    return { changes: planPatch(recorded, desired).body !== undefined || recordDiffers(recorded, desired) };
  }

  async create(inputs: DesiredAccount): Promise<pulumi.dynamic.CreateResult<RecordedAccount>> {
    const desired = normalize(inputs);
    if (desired.paused) {
      // Nothing applied yet: record an empty account, so unpausing applies everything the file says.
      return { id: desired.nanoid, outs: record({ ...desired, alias: undefined, removedCredentials: [], fingerprints: {} }, undefined) };
    }
    if (desired.manage === "observe") return { id: desired.nanoid, outs: observed(desired, await this.api().getConnectedAccount(desired.nanoid)) };
    // Adoption: the account exists in Composio already; declare it by applying what the file says.
    // Without credentials to send, nothing on the wire would check the file's scheme, toolkit and
    // user: a read does, before anything is written or recorded.
    const plan = planPatch(undefined, desired);
    let status: string | undefined;
    if (!plan.body?.connection) status = assertSameAccount(desired, await this.api().getConnectedAccount(desired.nanoid)).status;
    if (plan.body) status = (await this.api().patchConnectedAccount(desired.nanoid, plan.body)).status ?? status;
    this.progress.count("adopted");
    return { id: desired.nanoid, outs: record(desired, status) };
  }

  async update(_id: string, olds: RecordedAccount | LegacyRecord, news: DesiredAccount): Promise<pulumi.dynamic.UpdateResult<RecordedAccount>> {
    const recorded = normalizeRecorded(olds);
    const desired = normalize(news);
    if (desired.paused) return { outs: record({ ...recorded, paused: true }, recorded.status, recorded.statusReason) };
    if (desired.manage === "observe") return { outs: observed(desired, await this.api().getConnectedAccount(desired.nanoid)) };
    const status = await this.apply(recorded, desired);
    this.progress.count("updated");
    // A new status from the API makes the recorded reason stale.
    return { outs: status ? record(desired, status) : record(desired, recorded.status, recorded.statusReason) };
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
    const out: RecordedAccount = { ...normalizeRecorded(props), status: remote.status };
    if (remote.statusReason) out.statusReason = remote.statusReason;
    else delete out.statusReason;
    // Only an alias the file manages (or observes) is recorded: an unmanaged one would read as drift forever.
    if (props.alias !== undefined || props.manage === "observe") out.alias = remote.alias ?? "";
    if (out.alias === props.alias) return { id, props: out };
    // A drifted alias also becomes the recorded input, so the next preview renders it as a property
    // change (`alias: "renamed" => "declared"`). Credential values are never recorded, so that
    // preview lists `credentials` too; nothing is sent for them (their fingerprints are unchanged).
    const { status: _status, statusReason: _reason, ...inputs } = out;
    return { id, props: out, inputs };
  }

  /** Deleting a file stops managing the account; the account itself stays in Composio. */
  async delete(): Promise<void> {}

  private async apply(recorded: RecordedAccount | undefined, desired: DesiredAccount): Promise<string | undefined> {
    const plan = planPatch(recorded, desired);
    if (!plan.body) return undefined;
    const result = await this.api().patchConnectedAccount(desired.nanoid, plan.body);
    return result.status;
  }

  private api(): ComposioClient {
    this.settings ??= apiSettings(() => undefined, process.env);
    this.client ??= new ComposioClient(this.settings);
    return this.client;
  }

  private batchedReader(): BatchedReader {
    const client = this.api();
    this.reader ??= new BatchedReader(client, this.settings!.refreshBatchSize, this.settings!.refreshBatchWindowMs);
    return this.reader;
  }
}

/** The file must describe the account Composio has: a wrong scheme would otherwise be recorded and stick. */
function assertSameAccount(desired: DesiredAccount, remote: RemoteAccount): RemoteAccount {
  const mismatches = (
    [
      ["authScheme", desired.authScheme, remote.authScheme],
      ["toolkit", desired.toolkit, remote.toolkit],
      ["userId", desired.userId, remote.userId],
    ] as const
  ).filter(([, declared, actual]) => actual !== "" && actual !== declared);
  if (mismatches.length > 0) {
    throw new Error(
      `connected account ${desired.nanoid} is not what its file says: ` +
        mismatches.map(([field, declared, actual]) => `${field} is ${actual} in Composio, ${declared} in the file`).join("; ") +
        ". Correct the file (nothing was changed in Composio).",
    );
  }
  return remote;
}

/** True when a value is not known yet (preview). `__provider` is skipped: code, not a value (0.1's serialized provider held the marker itself). */
function hasUnknowns(inputs: DesiredAccount): boolean {
  return Object.entries(inputs).some(([key, value]) => !key.startsWith("__") && JSON.stringify(value)?.includes(UNKNOWN));
}

/** State written by 0.1, which recorded credential values beside their fingerprints. */
type LegacyRecord = RecordedAccount & { credentials?: Record<string, string> };

/** Desired state as the program declared it, with every collection present. */
function normalize(a: DesiredAccount): DesiredAccount {
  return { ...a, credentials: a.credentials ?? {}, removedCredentials: a.removedCredentials ?? [], fingerprints: a.fingerprints ?? {} };
}

/** State written by any earlier version of this provider, or by a preview, read the same way: without credential values. */
function normalizeRecorded(a: RecordedAccount | LegacyRecord): RecordedAccount {
  const { credentials: _notKept, ...recorded } = a as LegacyRecord;
  return { ...recorded, removedCredentials: a.removedCredentials ?? [], fingerprints: a.fingerprints ?? {} };
}

/** An observed account records what Composio has; nothing of the file's credentials. */
function observed(desired: DesiredAccount, remote: RemoteAccount): RecordedAccount {
  return record({ ...desired, alias: remote.alias ?? "", removedCredentials: [], fingerprints: {} }, remote.status, remote.statusReason);
}

/**
 * Outputs: plain JSON with no undefined (they travel as protobuf Structs), and no credential value:
 * outputs reach the SDK's debug log and the engine's event stream in plain text, secret or not.
 */
function record(desired: Omit<DesiredAccount, "credentials">, status: string | undefined, statusReason?: string): RecordedAccount {
  const out: RecordedAccount = {
    nanoid: desired.nanoid,
    toolkit: desired.toolkit,
    userId: desired.userId,
    authScheme: desired.authScheme,
    removedCredentials: desired.removedCredentials,
    fingerprints: desired.fingerprints,
  };
  if (desired.alias !== undefined) out.alias = desired.alias;
  if (desired.manage) out.manage = desired.manage;
  if (desired.paused) out.paused = desired.paused;
  if (status !== undefined) out.status = status;
  if (statusReason !== undefined) out.statusReason = statusReason;
  return out;
}
