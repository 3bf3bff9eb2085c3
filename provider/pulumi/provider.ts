import type * as pulumi from "@pulumi/pulumi";
import { ComposioClient } from "../composio/client";
import type { DesiredAccount, RecordedAccount } from "../plan/account-state";
import { planPatch, recordDiffers } from "../plan/patch-plan";
import { apiSettings, type ApiSettings } from "../settings";

type dynamic = typeof pulumi.dynamic;
type Provider = pulumi.dynamic.ResourceProvider<DesiredAccount, RecordedAccount>;

/** What the engine sends during preview for a value not known yet. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The dynamic provider. Pulumi serializes this object (with the code it uses) into every resource's
 * `__provider` and runs it in a separate process: so it holds no secret and no client at
 * serialization time. The API key arrives through `configure`, and the client is made on first use
 * and kept on `this`, where it is shared by every resource of the process.
 */
export class ConnectedAccountProvider implements Provider {
  private settings?: ApiSettings;
  private client?: ComposioClient;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.settings = apiSettings((key) => req.config.get(key), process.env);
  }

  async check(olds: DesiredAccount, news: DesiredAccount): Promise<pulumi.dynamic.CheckResult<DesiredAccount>> {
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

  async diff(_id: string, olds: RecordedAccount, news: DesiredAccount): Promise<pulumi.dynamic.DiffResult> {
    if (olds.nanoid !== news.nanoid) return { changes: true, replaces: ["nanoid"], deleteBeforeReplace: false };
    if (hasUnknowns(news)) return { changes: true };
    const recorded = normalize(olds);
    const plan = planPatch(recorded, normalize(news));
    return { changes: plan.body !== undefined || recordDiffers(recorded, normalize(news)) };
  }

  async create(inputs: DesiredAccount): Promise<pulumi.dynamic.CreateResult<RecordedAccount>> {
    // Adoption: the account exists in Composio already; declare it by applying what the file says.
    const desired = normalize(inputs);
    const status = await this.apply(undefined, desired);
    return { id: desired.nanoid, outs: record(desired, status) };
  }

  async update(_id: string, olds: RecordedAccount, news: DesiredAccount): Promise<pulumi.dynamic.UpdateResult<RecordedAccount>> {
    const recorded = normalize(olds);
    const desired = normalize(news);
    const status = await this.apply(recorded, desired);
    return { outs: record(desired, status ?? recorded.status) };
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
    this.client ??= new ComposioClient(this.settings ?? apiSettings(() => undefined, process.env));
    return this.client;
  }
}

/** True when a value is not known yet (preview). `__provider` is skipped: its code holds the marker itself. */
function hasUnknowns(inputs: DesiredAccount): boolean {
  return Object.entries(inputs).some(([key, value]) => !key.startsWith("__") && JSON.stringify(value)?.includes(UNKNOWN));
}

/** State written by any earlier version of this provider, or by a preview, read the same way. */
function normalize<T extends DesiredAccount>(a: T): T {
  return {
    ...a,
    credentials: a.credentials ?? {},
    removedCredentials: a.removedCredentials ?? [],
    fingerprints: a.fingerprints ?? {},
  };
}

/** Outputs must be plain JSON with no undefined (they travel as protobuf Structs). */
function record(desired: DesiredAccount, status: string | undefined): RecordedAccount {
  const out: RecordedAccount = {
    nanoid: desired.nanoid,
    toolkit: desired.toolkit,
    userId: desired.userId,
    authScheme: desired.authScheme,
    credentials: desired.credentials,
    removedCredentials: desired.removedCredentials,
    fingerprints: desired.fingerprints,
  };
  if (desired.alias !== undefined) out.alias = desired.alias;
  if (status !== undefined) out.status = status;
  return out;
}
