/**
 * Stack settings: every knob, its default and why, in one place, and the one reading of them
 * (`readSettings`): stack config (`connected-accounts:<key>`) first, then the environment. The
 * program, the provider process (which gets the stack config from the engine in `configure`) and
 * every command that takes `--stack` read them through it, so each refuses the same settings.
 */
import * as path from "node:path";

export const CONFIG_NAMESPACE = "connected-accounts";
export const DEFAULT_BASE_URL = "https://backend.composio.dev";

export const DEFAULTS = {
  /** Account files live here, relative to the project root. */
  accountsDir: "accounts",
  /** Composio's TLS handshake is well under a second; 10 s means the network is down. */
  connectTimeoutMs: 10_000,
  /** One PATCH answers in well under a second; 30 s means the server hangs, fail that account only. */
  requestTimeoutMs: 30_000,
  /** Retries for 429 / 5xx / dropped connections, enough to ride out a rate-limit window. */
  maxRetries: 6,
  /** Bound on all retries of one request together, so a flaky API cannot stall `pulumi up` for long. */
  retryBudgetMs: 120_000,
  /** First backoff step; doubles each retry (with jitter). */
  retryBaseMs: 500,
  /** Concurrent requests per provider process (Pulumi runs resources in parallel); far below the 2,000/min plan limit. */
  maxConcurrency: 8,
  /** Reads coalesced into one list call during a refresh (the list endpoint pages at most 1,000). */
  refreshBatchSize: 100,
  /** How long a read waits for others to join its batch; Pulumi issues a refresh's reads together. */
  refreshBatchWindowMs: 25,
} as const;

/**
 * What each numeric setting may be: whole numbers within these bounds. The timers among them must
 * stay far below Node's limit of 2^31 - 1 ms, beyond which a timer fires after 1 ms (and the
 * retry budget plus the request timeout make one timer).
 */
export const SETTING_RANGES: Record<Exclude<keyof typeof DEFAULTS, "accountsDir">, { min: number; max: number; unit: string }> = {
  connectTimeoutMs: { min: 1, max: 600_000, unit: "ms" },
  requestTimeoutMs: { min: 1, max: 600_000, unit: "ms" },
  maxRetries: { min: 0, max: 20, unit: "retries" },
  retryBudgetMs: { min: 1, max: 3_600_000, unit: "ms" },
  retryBaseMs: { min: 1, max: 60_000, unit: "ms" },
  maxConcurrency: { min: 1, max: 100, unit: "requests" },
  refreshBatchSize: { min: 1, max: 1_000, unit: "accounts" },
  refreshBatchWindowMs: { min: 0, max: 10_000, unit: "ms" },
};

/**
 * Bounds on what the outside world (a file, an API answer) may make this tool hold or wait for.
 * Not stack settings: each is far above any legitimate use and exists to fail clearly instead of
 * exhausting memory or time.
 */
export const LIMITS = {
  /** A PEM key or a service-account JSON is a few KiB; 64 KiB leaves room without letting `/dev/zero` in. */
  maxSecretFileBytes: 64 * 1024,
  /** An encrypted value takes ~200 bytes: 8 MiB holds tens of thousands, the largest fleet several times over. */
  maxSopsFileBytes: 8 * 1024 * 1024,
  /** Decrypting with age takes milliseconds and a cloud KMS a second; a minute means a key service hangs. */
  sopsDecryptTimeoutMs: 60_000,
  /** A list page of 1,000 accounts is under 1 MiB; anything larger is not an answer to our request. */
  maxResponseBytes: 1024 * 1024,
  /** 1,000 pages of 100 accounts: ten times the largest project we know of; more means the cursor loops. */
  maxListPages: 1_000,
  /** A refresh asks for at most 1,000 ids at once, which fit one page; more pages mean the API ignores the filter. */
  maxBatchListPages: 10,
  /** The longest a rate-limit window can plausibly be; a header asking for longer is ignored. */
  maxRateWindowMs: 60 * 60_000,
} as const;

/**
 * References an account file may not make, whatever the stack says: they would hand this tool's own
 * secrets, or the CI runner's, to an API base URL of the file author's choosing. Patterns use `*`.
 */
export const REFUSED_REFERENCES = {
  /** The tool's own credentials and Pulumi's (access token, passphrase, backend keys). */
  env: [
    "COMPOSIO_*", "PULUMI_*",
    // The keys that decrypt every SOPS file of the fleet.
    "SOPS_*",
    // Well-known CI and cloud credentials present on build machines.
    "GITHUB_TOKEN", "ACTIONS_*", "RUNNER_*", "AWS_*", "AZURE_*", "ARM_*", "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CREDENTIALS", "CLOUDSDK_*", "NPM_TOKEN", "NODE_AUTH_TOKEN", "CI_JOB_TOKEN", "CI_JOB_JWT*", "ACTIONS_ID_TOKEN_*",
    // Forge CLIs and CI systems: the GitHub and GitLab CLIs' tokens, GitLab's registry and deploy
    // credentials, CircleCI's and Buildkite's agent tokens.
    "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GITLAB_TOKEN", "GITLAB_*_TOKEN", "CI_REGISTRY_PASSWORD",
    "CI_DEPLOY_PASSWORD", "CIRCLE_TOKEN", "BUILDKITE_AGENT_ACCESS_TOKEN",
    // Secret stores and the keys that decrypt this repository's secrets (SOPS, age, Vault, Terraform Cloud).
    "VAULT_*", "SOPS_*", "AGE_*", "TF_TOKEN_*", "TFE_TOKEN",
    // Container registries and clusters the runner deploys to.
    "DOCKER_PASSWORD", "DOCKER_AUTH_CONFIG", "DOCKERHUB_TOKEN", "DOCKERHUB_PASSWORD", "KUBECONFIG",
  ],
  /** This tool's stack settings: `apiKey` and `fingerprintKey` are secrets, the rest are not credentials. */
  config: ["apiKey", "fingerprintKey", "baseUrl", "allowedEnv", ...Object.keys(DEFAULTS)],
} as const;

/** A shorter HMAC key could be guessed, and with it every short secret from its fingerprint. */
export const MIN_FINGERPRINT_KEY_LENGTH = 32;

/** Whether `name` matches one of `patterns` (`*` matches any run of characters; case as written). */
export function matchesNamePattern(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => namePattern(p).test(name));
}

/** Every env reference of a fleet is matched against the same few dozen patterns: compile each once. */
const compiledPatterns = new Map<string, RegExp>();
function namePattern(pattern: string): RegExp {
  let re = compiledPatterns.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    compiledPatterns.set(pattern, re);
  }
  return re;
}

/**
 * `connected-accounts:allowedEnv`: comma-separated name patterns (`SHOPIFY_*,JIRA_*`) restricting
 * which environment variables account files may read; undefined when unset (any name not refused).
 */
export function allowedEnvPatterns(config: ConfigLookup): string[] | undefined {
  const raw = config(`${CONFIG_NAMESPACE}:allowedEnv`);
  if (raw === undefined || raw.trim() === "") return undefined;
  return raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
}

export interface ApiSettings {
  baseUrl: string;
  apiKey?: string;
  /** Where apiKey came from, named when the API refuses it: the stack setting or the environment variable. */
  apiKeySource: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxRetries: number;
  retryBudgetMs: number;
  retryBaseMs: number;
  maxConcurrency: number;
  refreshBatchSize: number;
  refreshBatchWindowMs: number;
}

/** Reads a `connected-accounts:*` value (full key) from stack config. */
export type ConfigLookup = (fullKey: string) => string | undefined;

/** This tool's settings that are secrets: a plain value sits in plain text in the stack file (in git) and in every checkpoint. */
const SECRET_SETTINGS = ["apiKey", "fingerprintKey"] as const;

/** Where the settings come from: a stack's config (full keys), and where each is written. */
export interface SettingsSource {
  /** The stack file as shown to the user; positions are in it. */
  file: string;
  get(fullKey: string): string | undefined;
  /** Which keys are stack secrets; absent when that is not known (the provider gets the config decrypted). */
  isSecret?(fullKey: string): boolean;
  /** Set to a non-empty value (a secret's value may be unknown: it is set all the same). */
  has?(fullKey: string): boolean;
  locate(fullKey: string): { line: number; column: number };
}

/** A setting that cannot be used: where it is written, what is wrong, the fix (the shape of an account problem). */
export interface SettingProblem {
  file: string;
  line: number;
  column: number;
  /** The full key, `connected-accounts:<key>`. */
  field: string;
  message: string;
  fix: string;
}

/** Every setting, typed, with its default where it is not set. */
export interface Settings {
  api: ApiSettings;
  /** The accounts folder as written (relative to the project root, or absolute); the default when unset. */
  accountsDir: string;
  fingerprintKey?: string;
  /** undefined: any environment variable not refused may be read. */
  allowedEnv?: string[];
}

/**
 * Stack config plus environment → typed settings and every problem with them. A setting with a
 * problem reads as its default; whoever reads the settings refuses to go on while there are problems.
 */
export function readSettings(stack: SettingsSource, env: Record<string, string | undefined>): { settings: Settings; problems: SettingProblem[] } {
  const get = (key: string) => stack.get(`${CONFIG_NAMESPACE}:${key}`);
  const problems: SettingProblem[] = [];
  const at = (key: string, message: string, fix: string) => problems.push({ file: stack.file, ...stack.locate(key), field: key, message, fix });
  const num = (key: keyof typeof SETTING_RANGES): number => {
    const raw = get(key);
    if (raw === undefined || raw === "") return DEFAULTS[key];
    const problem = rangeProblem(key, raw);
    if (!problem) return Number(raw);
    at(`${CONFIG_NAMESPACE}:${key}`, problem.message, problem.fix);
    return DEFAULTS[key];
  };
  const api: ApiSettings = {
    baseUrl: (get("baseUrl") || env.COMPOSIO_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, ""),
    apiKey: get("apiKey") || env.COMPOSIO_API_KEY || undefined,
    apiKeySource: get("apiKey") ? `stack config ${CONFIG_NAMESPACE}:apiKey` : "COMPOSIO_API_KEY",
    connectTimeoutMs: num("connectTimeoutMs"),
    requestTimeoutMs: num("requestTimeoutMs"),
    maxRetries: num("maxRetries"),
    retryBudgetMs: num("retryBudgetMs"),
    retryBaseMs: num("retryBaseMs"),
    maxConcurrency: num("maxConcurrency"),
    refreshBatchSize: num("refreshBatchSize"),
    refreshBatchWindowMs: num("refreshBatchWindowMs"),
  };
  for (const setting of SECRET_SETTINGS) {
    const key = `${CONFIG_NAMESPACE}:${setting}`;
    const set = stack.has ? stack.has(key) : (stack.get(key) ?? "") !== "";
    if (!stack.isSecret || !set || stack.isSecret(key)) continue;
    at(
      key,
      `stack config ${key} is not a stack secret: Pulumi keeps a plain value in plain text in the stack file (in git) and in the state`,
      `pulumi config set --secret ${key} ${setting === "fingerprintKey" ? '"$(openssl rand -hex 32)"' : "<value>"} (and rotate it: the plain value stays in the history)`,
    );
  }
  const settings: Settings = { api, accountsDir: get("accountsDir") || DEFAULTS.accountsDir };
  const fingerprintKey = get("fingerprintKey");
  if (fingerprintKey) settings.fingerprintKey = fingerprintKey;
  const allowedEnv = allowedEnvPatterns((key) => stack.get(key));
  if (allowedEnv) settings.allowedEnv = allowedEnv;
  return { settings, problems };
}

/** The accounts folder, absolute: `setting` as written in the stack (relative to the project root), else the default. */
export function accountsDirPath(projectRoot: string, setting: string | undefined): string {
  return path.resolve(projectRoot, setting || DEFAULTS.accountsDir);
}

/** Undefined when `raw` (a numeric setting as written) is in range; else what is wrong and its fix. */
function rangeProblem(key: keyof typeof SETTING_RANGES, raw: string): { message: string; fix: string } | undefined {
  const { min, max, unit } = SETTING_RANGES[key];
  const n = Number(raw.trim());
  if (raw.trim() !== "" && Number.isInteger(n) && n >= min && n <= max) return undefined;
  const full = `${CONFIG_NAMESPACE}:${key}`;
  return {
    message: `stack config ${full} must be a whole number from ${min} to ${max} (${unit}), not "${raw}"`,
    fix: `pulumi config set ${full} ${DEFAULTS[key]} (the default), or pulumi config rm ${full}`,
  };
}

/**
 * The settings from a config lookup without positions (the provider's `configure`, a client of a
 * test): throws the first problem, with its fix, where the program and the commands list them all.
 */
export function settingsFrom(config: ConfigLookup, env: Record<string, string | undefined>): Settings {
  const { settings, problems } = readSettings({ file: "", get: config, locate: () => ({ line: 1, column: 1 }) }, env);
  if (problems.length > 0) throw new Error(`${problems[0].message}; fix: ${problems[0].fix}`);
  return settings;
}

/** The API settings alone (see settingsFrom). */
export function apiSettings(config: ConfigLookup, env: Record<string, string | undefined>): ApiSettings {
  return settingsFrom(config, env).api;
}
