/**
 * Drives the real ConnectedAccountProvider in process, the way the engine calls it for one
 * deployment: Check, then Diff against the recorded outputs, then Create (adoption) or Update.
 * Every resource runs concurrently, as Pulumi runs them; the provider's own client limits traffic.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DesiredAccount, RecordedAccount, RegisteredAccount } from "../provider/plan/account-state";
import { ConnectedAccountProvider } from "../provider/pulumi/provider";
import { CONFIG_NAMESPACE } from "../provider/settings";
import { FINGERPRINT_KEY } from "./desired-fleet";
import type { FleetSecrets } from "./fleet";

export const API_KEY = "bench-api-key-9Tq2Wm";

export interface ApplyOutcome {
  recorded: Map<string, RecordedAccount>;
  updated: number;
  unchanged: number;
  failed: { id: string; error: string }[];
}

/**
 * A provider configured as the engine would (stack config keys within the connected-accounts
 * namespace), with the fleet's secrets where a provider process finds them: env values as its
 * environment, config values in its stack config.
 */
export async function configuredProvider(baseUrl: string, secrets: FleetSecrets, settings: Record<string, string> = {}): Promise<ConnectedAccountProvider> {
  const values: Record<string, string> = { baseUrl, apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY, ...secrets.config, ...settings };
  const config: pulumi.dynamic.Config = {
    get: (key) => (key.startsWith(`${CONFIG_NAMESPACE}:`) ? values[key.slice(CONFIG_NAMESPACE.length + 1)] : undefined),
    require: (key) => {
      const value = config.get(key);
      if (value === undefined) throw new Error(`missing config ${key}`);
      return value;
    },
  };
  const provider = new ConnectedAccountProvider(secrets.env);
  await provider.configure({ config });
  return provider;
}

/** First deployment of accounts that already exist remotely: one Create each. */
export async function adopt(provider: ConnectedAccountProvider, desired: RegisteredAccount[]): Promise<Map<string, RecordedAccount>> {
  const recorded = new Map<string, RecordedAccount>();
  await Promise.all(
    desired.map(async (d) => {
      const checked = await provider.check({} as DesiredAccount, d);
      const created = await provider.create(checked.inputs!);
      recorded.set(created.id, created.outs!);
    }),
  );
  return recorded;
}

/** A later deployment: Check and Diff every account, Update the ones that differ. */
export async function applyDeployment(provider: ConnectedAccountProvider, recorded: Map<string, RecordedAccount>, desired: RegisteredAccount[]): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { recorded: new Map(recorded), updated: 0, unchanged: 0, failed: [] };
  await Promise.all(
    desired.map(async (d) => {
      const olds = recorded.get(d.nanoid);
      if (!olds) throw new Error(`bench: ${d.nanoid} was never adopted`);
      try {
        // The engine passes the old inputs; check reads only nanoid and authScheme, which outputs share.
        const checked = await provider.check(olds as unknown as DesiredAccount, d);
        const news = checked.inputs!;
        const diff = await provider.diff(d.nanoid, olds, news);
        if (!diff.changes) {
          outcome.unchanged++;
          return;
        }
        const updated = await provider.update(d.nanoid, olds, news);
        outcome.recorded.set(d.nanoid, updated.outs!);
        outcome.updated++;
      } catch (err) {
        outcome.failed.push({ id: d.nanoid, error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  return outcome;
}
