/**
 * `connected-accounts import`: writes an account file for each connected account that already exists
 * in Composio, so a team can start managing it as code. (Pulumi's own `import` does not work for
 * dynamic providers.) Reads only; nothing is sent to Composio but list requests.
 * Exit 0 when done, 1 on an API error, 2 on a usage error or a missing API key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ManageMode } from "../accounts/account";
import { aliasScope, declaredAccounts, type Declared } from "../project/declared-ids";
import { isNonSecretField } from "../accounts/fields";
import { isInside } from "../accounts/validate";
import { ComposioClient, type AccountFilter } from "../composio/client";
import type { RemoteAccount } from "../plan/live-account";
import { isIgnored } from "../project/git";
import { checkStackHint, locateWorkspace } from "../project/workspace";
import { accountsDirPath, apiSettings, DEFAULTS } from "../settings";
import { refuseBadStackSettings } from "./stack-secrets";
import { parseFlags, parseFormat, printHelp, UsageError, withUsage } from "./flags";
import { cannotImport, importFilePath, placeholderKeys, renderImportedAccount } from "./import-file";
import { encryptOrExplain, parseSecretsOption, renderSecretsDocument, SopsKeyNames, type PlaceholderKey, type SopsSecretsTarget } from "./import-secrets";
import { terminalSafe } from "../text/terminal-text";

/** The connected-account statuses Composio documents; anything else is a typo that would silently match nothing. */
const STATUSES = ["INITIALIZING", "INITIATED", "ACTIVE", "FAILED", "EXPIRED", "INACTIVE", "REVOKED"];
/** A few requests for most projects, each answer a few hundred kB at most. */
const DEFAULT_PAGE_SIZE = 100;
/** The largest page the sandbox serves; larger pages buy nothing but longer answers. */
const MAX_PAGE_SIZE = 1000;
/** Where the schema sits in this project, for the editor modeline of each written file. */
const SCHEMA_PATH = "provider/schema/account.schema.json";

const FORMATS = ["text", "json"] as const;

const USAGE = `usage: connected-accounts import [options]

Writes <dir>/<toolkit>/<id>.yaml for each connected account in the Composio project, so existing
accounts can be managed from here. Credentials come out as { todo: ... } placeholders that
\`connected-accounts validate\` flags until each says where its value lives.

The API key is read from COMPOSIO_API_KEY only (a flag would show it in ps); the API from
COMPOSIO_BASE_URL (default https://backend.composio.dev).

  --stack      write into the stack's accountsDir (default: PULUMI_STACK, if set)
  --dir        folder to write into (default: the stack's accountsDir, else ${DEFAULTS.accountsDir}/ at the project root, like validate and plan)
  --toolkit    only these toolkit slugs, comma separated
  --user-id    only these user ids, comma separated
  --status     only these statuses, comma separated (${STATUSES.join(", ")})
  --observe    write manage: observe (recorded, never written) instead of credential placeholders
  --secrets    sops:<file.sops.yaml>: reference each secret field from that SOPS file instead, one key
               per account and field (<toolkit>_<alias or id>_<field>), written as empty values to fill
               in with sops edit; encrypted at once when sops and a recipient (.sops.yaml) are there
  --force      overwrite a file already at <dir>/<toolkit>/<id>.yaml
  --page-size  accounts per list request, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})
  --format     text (default) or json: {"written": [paths], "skipped": [{"id", "reason"}], "total"}

An account already declared by any file under the folder is skipped, --force or not.

Exit code: 0 done, 1 API error, 2 usage error or no API key.`;

interface ImportOptions {
  /** `--secrets` as given. */
  secrets: string | undefined;
  dir: string | undefined;
  stack: string | undefined;
  filter: AccountFilter;
  manage: ManageMode;
  force: boolean;
  pageSize: number;
  format: (typeof FORMATS)[number];
}

/** What one run did, paths as shown to the user; `total` counts the accounts the API listed. */
export interface ImportReport {
  written: string[];
  skipped: { id: string; reason: string }[];
  total: number;
  /** With --secrets: the SOPS file, how many keys were added, whether it is encrypted. */
  secrets?: { file: string; keys: number; encrypted: boolean; example?: string };
}

/** What the text report adds for people: whether any written file still holds placeholders. */
interface ImportOutcome {
  report: ImportReport;
  placeholders: number;
  /** Why the SOPS file is not encrypted yet. */
  unencryptedBecause?: string;
}

export function run(argv: string[]): Promise<number> {
  return withUsage("import", USAGE, async () => {
    const options = parseOptions(argv);
    return options === "help" ? printHelp(USAGE) : importAccounts(options);
  });
}

async function importAccounts(options: ImportOptions): Promise<number> {
  const settings = apiSettings(() => undefined, process.env);
  if (!settings.apiKey) {
    throw new UsageError("no Composio API key: export COMPOSIO_API_KEY=<project API key> (it is read from the environment only, never from a flag)", false);
  }
  const ws = await locateWorkspace({ dir: options.dir, stack: options.stack });
  checkStackHint(ws);
  refuseBadStackSettings(ws);
  // The whole project counts, not only --dir: a second file for an id or an alias fails validation.
  const declared = declaredAccounts(ws.accountsDir, accountsDirPath(ws.projectRoot, undefined));
  const secrets = options.secrets === undefined ? undefined : parseSecretsOption(options.secrets, ws.cwd, ws.projectRoot);

  const client = new ComposioClient(settings);
  let remote: RemoteAccount[];
  try {
    remote = await client.listAll(options.filter, options.pageSize);
  } catch (err) {
    process.stderr.write(`connected-accounts import: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await client.close();
  }

  const display = (p: string) => path.relative(ws.cwd, p) || p;
  const ignored = secrets && ws.inGit && (await isIgnored(ws.repoRoot, path.relative(ws.repoRoot, secrets.file).split(path.sep).join("/")));
  const outcome = writeAccountFiles(remote, declared, ws.accountsDir, options, display, secrets && { target: secrets, repoRoot: ws.repoRoot });
  if (ignored && outcome.report.secrets) {
    process.stderr.write(`note: git ignores ${outcome.report.secrets.file}, but a SOPS file is meant to be committed: add !${path.relative(ws.repoRoot, secrets.file).split(path.sep).join("/")} to .gitignore\n`);
  }
  process.stdout.write(options.format === "json" ? `${JSON.stringify(outcome.report, null, 2)}\n` : formatReportText(outcome));
  return 0;
}

function parseOptions(argv: string[]): ImportOptions | "help" {
  const { values, lists, switches, help } = parseFlags(argv, ["stack", "dir", "toolkit", "user-id", "status", "page-size", "format", "secrets"], ["observe", "force"]);
  if (help) return "help";
  if (values.secrets !== undefined && switches.has("observe")) throw new UsageError("--secrets and --observe do not go together: an observed account's credentials are never written");
  const statuses = list("--status", lists.status);
  const unknown = statuses?.find((s) => !STATUSES.includes(s));
  if (unknown !== undefined) throw new UsageError(`unknown status "${unknown}" (use ${STATUSES.join(", ")})`);
  return {
    secrets: values.secrets,
    dir: values.dir,
    stack: values.stack,
    filter: { toolkits: list("--toolkit", lists.toolkit), userIds: list("--user-id", lists["user-id"]), statuses },
    manage: switches.has("observe") ? "observe" : "full",
    force: switches.has("force"),
    pageSize: pageSize(values["page-size"]),
    format: parseFormat(values.format, FORMATS, "text"),
  };
}

/** `--toolkit a,b --toolkit c` → [a, b, c]; undefined when the flag is absent. */
function list(flag: string, raw: string[] | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  if (items.length === 0) throw new UsageError(`option ${flag} needs at least one value`);
  return items;
}

function pageSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_PAGE_SIZE) throw new UsageError(`--page-size must be a whole number from 1 to ${MAX_PAGE_SIZE}, not "${raw}"`);
  return n;
}

/**
 * One file per account, never over an existing file without --force, and never for an account
 * another file already declares (a second file for one id fails validation).
 */
function writeAccountFiles(
  remote: readonly RemoteAccount[],
  declared: Declared,
  dir: string,
  options: ImportOptions,
  shown: (absolute: string) => string,
  secrets?: { target: SopsSecretsTarget; repoRoot: string },
): ImportOutcome {
  const report: ImportReport = { written: [], skipped: [], total: remote.length };
  let placeholders = 0;
  const names = secrets && new SopsKeyNames(Object.keys(secrets.target.existing));
  const keys: PlaceholderKey[] = [];
  const schemaFile = findSchemaFile(dir);
  for (const account of remote) {
    const refused = cannotImport(account);
    if (refused) {
      report.skipped.push({ id: account.id, reason: `cannot be imported: ${refused}` });
      continue;
    }
    const target = path.join(dir, importFilePath(account));
    const declaredIn = declared.ids.get(account.id);
    if (declaredIn !== undefined && declaredIn !== target) {
      report.skipped.push({ id: account.id, reason: `already declared in ${shown(declaredIn)}` });
      continue;
    }
    const scope = account.alias ? aliasScope(account.userId, account.toolkit, account.alias) : undefined;
    const aliasIn = scope && declared.aliases.get(scope);
    if (aliasIn && aliasIn !== target) {
      report.skipped.push({ id: account.id, reason: `its alias "${account.alias}" is already declared for user ${account.userId} and toolkit ${account.toolkit} in ${shown(aliasIn)}` });
      continue;
    }
    const exists = fs.existsSync(target) || isSymlink(target);
    if (exists && !options.force) {
      report.skipped.push({ id: account.id, reason: `${shown(target)} exists (--force overwrites it)` });
      continue;
    }
    const folder = path.dirname(target);
    const escapesTo = linkedOutside(dir, folder);
    if (escapesTo) {
      report.skipped.push({ id: account.id, reason: `${shown(folder)} is a symbolic link to ${escapesTo}, outside the accounts folder: nothing was written there (replace the link with a folder)` });
      continue;
    }
    const schemaRef = schemaFile && path.relative(folder, schemaFile).split(path.sep).join("/");
    const sopsPath = secrets && path.relative(folder, secrets.target.file).split(path.sep).join("/");
    const secretRef = names && ((field: string) => {
      const key = names.name(account, field);
      keys.push({ key, account, field });
      return { sops: sopsPath!, key };
    });
    const text = renderImportedAccount(account, { manage: options.manage, schemaRef, secretRef });
    fs.mkdirSync(folder, { recursive: true });
    // Remove, then create exclusively: a symbolic link at the target is replaced, never followed.
    if (exists) fs.rmSync(target, { force: true });
    fs.writeFileSync(target, text, { flag: "wx" });
    declared.ids.set(account.id, target);
    if (scope) declared.aliases.set(scope, target);
    report.written.push(shown(target));
    placeholders += placeholderKeys(account, options.manage).filter((k) => !secretRef || isNonSecretField(k)).length;
  }
  if (!secrets || keys.length === 0) return { report, placeholders };
  const { target, repoRoot } = secrets;
  fs.mkdirSync(path.dirname(target.file), { recursive: true });
  fs.writeFileSync(target.file, renderSecretsDocument(target, keys));
  const encryption = encryptOrExplain(target.file, repoRoot, process.env);
  report.secrets = { file: shown(target.file), keys: keys.length, encrypted: encryption.encrypted };
  if (!encryption.encrypted && encryption.example) report.secrets.example = shown(encryption.example);
  return { report, placeholders, unencryptedBecause: encryption.encrypted ? undefined : encryption.why };
}

/** The project's account schema, looked for from `dir` upwards, so editors can check the files. */
function findSchemaFile(dir: string): string | undefined {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const candidate = path.join(at, SCHEMA_PATH);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(at) === at) return undefined;
  }
}

/**
 * Where `folder` (inside the accounts folder `dir`, by name) really is, when a symbolic link on the
 * way takes it outside `dir`; undefined when it stays inside or does not exist yet (then it is
 * created inside). The accounts folder itself may be a link: what counts is where it leads.
 */
function linkedOutside(dir: string, folder: string): string | undefined {
  let real: string;
  try {
    real = fs.realpathSync(folder);
  } catch {
    return undefined;
  }
  return isInside(fs.realpathSync(dir), real) ? undefined : real;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function formatReportText({ report, placeholders, unencryptedBecause }: ImportOutcome): string {
  const lines = [
    ...report.written.map((p) => `wrote ${p}`),
    // The reasons quote the API's answers (an alias, a slug) and file paths: escaped for the terminal.
    ...report.skipped.map((s) => terminalSafe(`skipped ${s.id}: ${s.reason}`)),
    `${report.total} ${report.total === 1 ? "account" : "accounts"} listed: ${report.written.length} written, ${report.skipped.length} skipped`,
  ];
  const sops = report.secrets;
  if (sops) {
    lines.push(`wrote ${sops.file}: ${sops.keys} empty ${sops.keys === 1 ? "value" : "values"}, one per account and secret field, ${sops.encrypted ? "encrypted" : `not encrypted (${unencryptedBecause})`}`);
    if (!sops.encrypted) {
      const rule = sops.example ? `copy ${sops.example} to .sops.yaml at the repository root with your public keys, then ` : "";
      lines.push(`next: encrypt it before filling in any value: ${rule}sops --encrypt --in-place ${sops.file}`);
    }
    lines.push(`next: fill in each value with sops edit ${sops.file}; connected-accounts validate lists the ones still empty. Commit it encrypted.`);
  }
  if (placeholders > 0) {
    lines.push(`next: replace each of the ${placeholders} todo placeholder${placeholders === 1 ? "" : "s"} with where its value lives (or delete its line), then run connected-accounts validate`);
  } else if (report.written.length > 0) {
    lines.push("next: run connected-accounts validate, then commit the files");
  }
  return `${lines.join("\n")}\n`;
}
