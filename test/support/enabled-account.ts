/**
 * `ca_en`, the account the deployment suites adopt to watch one account's requests: an API_KEY
 * account with one env credential, which each test starts from enabled and ACTIVE.
 */
import type { Sandbox, SandboxAccountSeed } from "../../provider/sandbox/server";
import { switchInDashboard } from "./dashboard";

export const EN_SEED: SandboxAccountSeed = { id: "ca_en", toolkit: "github", userId: "team", authScheme: "API_KEY" };
export const KEY_1 = "sk_enabled_first_4RtY8u";
export const KEY_2 = "sk_enabled_rotated_9PqW2z";
export const PATH = "/api/v3/connected_accounts/ca_en";
export const STATUS = `${PATH}/status`;

/** The account file for ca_en, with `over` on top. */
export const enFile = (over: Record<string, unknown> = {}) => ({
  id: "ca_en", toolkit: "github", userId: "team", alias: "gh-en", authScheme: "API_KEY",
  credentials: { api_key: { env: "EN_KEY" } }, ...over,
});

/** The PATCH body that sets ca_en's api_key to `key`. */
export const rotate = (key: string) => ({ connection: { state: { authScheme: "API_KEY", val: { api_key: key } } } });

/** Every test starts from an enabled, ACTIVE ca_en, with no fault injected. */
export async function resetEnabledAccount(sandbox: Sandbox): Promise<void> {
  sandbox.clearFaults();
  await switchInDashboard(sandbox, "ca_en", true);
}
