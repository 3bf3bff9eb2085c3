import { describe, expect, it } from "vitest";
import { accountsDirPath, DEFAULTS, readSettings, type SettingsSource } from "../../provider/settings";

/** A stack file's config: `values` by short key, each on its own line from line 2; `secret` keys are `secure:`. */
const source = (values: Record<string, string>, secret: string[] = []): SettingsSource => {
  const keys = Object.keys(values).map((k) => `connected-accounts:${k}`);
  return {
    file: "stacks/Pulumi.prod.yaml",
    get: (key) => values[key.replace("connected-accounts:", "")],
    isSecret: (key) => secret.includes(key.replace("connected-accounts:", "")),
    locate: (key) => ({ line: keys.indexOf(key) + 2, column: 3 }),
  };
};

describe("stack config plus environment → typed settings and problems", () => {
  it("defaults everything that is not set, and takes the API from the environment", () => {
    const { settings, problems } = readSettings(source({}), { COMPOSIO_API_KEY: "k", COMPOSIO_BASE_URL: "http://127.0.0.1:1/" });
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      accountsDir: "accounts",
      api: { baseUrl: "http://127.0.0.1:1", apiKey: "k", apiKeySource: "COMPOSIO_API_KEY", ...Object.fromEntries(Object.entries(DEFAULTS).filter(([k]) => k !== "accountsDir")) },
    });
  });

  it("the stack wins over the environment", () => {
    const { settings } = readSettings(source({ apiKey: "from-stack", baseUrl: "https://x" }, ["apiKey"]), { COMPOSIO_API_KEY: "env", COMPOSIO_BASE_URL: "https://y" });
    expect(settings.api).toMatchObject({ apiKey: "from-stack", apiKeySource: "stack config connected-accounts:apiKey", baseUrl: "https://x" });
  });

  const bad: [string, string][] = [["maxConcurrency", "-3"], ["requestTimeoutMs", "soon"], ["retryBudgetMs", "99999999999"], ["maxRetries", "21"], ["refreshBatchWindowMs", " "]];
  it.each(bad)("%s: %j is a problem at its line, and reads as the default", (key, raw) => {
    const { settings, problems } = readSettings(source({ accountsDir: "fleet", [key]: raw }), {});
    expect(problems).toEqual([expect.objectContaining({ file: "stacks/Pulumi.prod.yaml", line: 3, column: 3, field: `connected-accounts:${key}` })]);
    expect(problems[0].message).toContain(`not "${raw}"`);
    expect(problems[0].fix).toBe(`pulumi config set connected-accounts:${key} ${DEFAULTS[key as keyof typeof DEFAULTS]} (the default), or pulumi config rm connected-accounts:${key}`);
    expect(settings.api[key as "maxConcurrency"]).toBe(DEFAULTS[key as keyof typeof DEFAULTS]);
  });

  it("this tool's secrets must be stack secrets, where that is known", () => {
    expect(readSettings(source({ apiKey: "k", fingerprintKey: "f" }), {}).problems.map((p) => p.field)).toEqual(["connected-accounts:apiKey", "connected-accounts:fingerprintKey"]);
    expect(readSettings(source({ apiKey: "k", fingerprintKey: "f" }, ["apiKey", "fingerprintKey"]), {}).problems).toEqual([]);
    const { isSecret: _unknown, ...decrypted } = source({ apiKey: "k" });
    expect(readSettings(decrypted, {}).problems).toEqual([]);
  });

  it("allowedEnv is a list of patterns; the accounts folder resolves from the project root", () => {
    expect(readSettings(source({ allowedEnv: " SHOP_*, ,JIRA_*" }), {}).settings.allowedEnv).toEqual(["SHOP_*", "JIRA_*"]);
    expect(accountsDirPath("/p", undefined)).toBe("/p/accounts");
    expect(accountsDirPath("/p", "fleet/prod")).toBe("/p/fleet/prod");
    expect(accountsDirPath("/p", "/abs")).toBe("/abs");
  });
});
