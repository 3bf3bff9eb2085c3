/**
 * Renders a ReviewPlan for people (text), machines (JSON) and pull requests (Markdown). Pure: the
 * plan holds reference descriptions and non-secret literals only, so nothing here can leak a secret.
 */
import type { AccountProblem } from "../accounts/problem";
import { terminalSafe } from "../text/terminal-text";
import type { AccountChange, CredentialChange, CredentialChangeKind, Lifecycle, PlanAction, ReviewPlan } from "./account-changes";
import { formatProblemText, problemsToJson, type ProblemsJson } from "./format-problems";

/** First line of the pull-request comment: the workflow finds its own comment again by it. */
export const PLAN_COMMENT_MARKER = "<!-- connected-accounts-plan -->";
/** GitHub refuses comments longer than this many characters. */
export const MAX_COMMENT_CHARS = 65_536;

const KINDS: readonly CredentialChangeKind[] = ["added", "changed", "removed"];

/** What each lifecycle means for the change, in full (text, details) and short (table cell). */
const LIFECYCLE: Record<Lifecycle, { full: string; short: string }> = {
  observe: { full: "only read from now on: nothing is written, Composio is left as it is", short: "observe only" },
  paused: { full: "paused: nothing is sent; these changes wait until it is unpaused", short: "waits until unpaused" },
  unpaused: { full: "unpausing applies these changes and any made while it was paused", short: "applies on unpause" },
};

/** What switching an account means, in full (text, details) and short (table cell). */
const SWITCH = {
  disable: { full: "disabled before anything else is sent", short: "disables" },
  enable: { full: "enabled after everything else is sent; enabling does not repair an EXPIRED or FAILED connection", short: "enables" },
};

/** The switch an `enabled` change sends, if any (dropping `enabled` leaves the account as it is). */
function switchOf(a: AccountChange): (typeof SWITCH)[keyof typeof SWITCH] | undefined {
  if (a.enabled?.to === false) return SWITCH.disable;
  if (a.enabled?.to === true) return SWITCH.enable;
  return undefined;
}

/** Base problems shown in a Markdown comment; the rest are counted. */
const MAX_BASE_PROBLEMS_SHOWN = 20;

/** A problem of the base revision, and whether the change fixes it. */
export interface BaseProblem extends AccountProblem {
  status: "fixed" | "still present";
}

export interface PlanJson {
  summary: Record<PlanAction, number>;
  accounts: {
    id: string;
    file: string;
    action: PlanAction;
    movedFrom?: string;
    alias?: { from: string | null; to: string | null };
    enabled?: AccountChange["enabled"];
    settings?: AccountChange["settings"];
    credentials: Record<CredentialChangeKind, string[]>;
    lifecycle?: Lifecycle;
  }[];
  /** Changes `pulumi preview` will refuse; present only when there are some (then the exit code is 1). */
  errors?: ProblemsJson["errors"];
  /** Problems of the base revision and whether this change fixes them; present only when there are some. */
  baseProblems?: (ProblemsJson["errors"][number] & { status: BaseProblem["status"] })[];
}

export function planToJson(plan: ReviewPlan, baseProblems: readonly BaseProblem[] = []): PlanJson {
  return {
    summary: plan.summary,
    accounts: plan.accounts.map((a) => ({
      id: a.id,
      file: a.file,
      action: a.action,
      ...(a.movedFrom !== undefined && { movedFrom: a.movedFrom }),
      ...(a.alias && { alias: a.alias }),
      ...(a.enabled && { enabled: a.enabled }),
      ...(a.settings && { settings: a.settings }),
      credentials: a.credentials,
      ...(a.lifecycle && { lifecycle: a.lifecycle }),
    })),
    ...(plan.refused.length > 0 && { errors: problemsToJson(plan.refused, 0).errors }),
    ...(baseProblems.length > 0 && { baseProblems: baseProblemsToJson(baseProblems) }),
  };
}

export function baseProblemsToJson(problems: readonly BaseProblem[]): NonNullable<PlanJson["baseProblems"]> {
  return problems.map(({ status, ...p }) => ({ ...problemsToJson([p], 0).errors[0], status }));
}

/** Where the comparison starts and ends, as the user named them. */
export interface PlanSides {
  base: string;
  /** undefined: the working tree. */
  head?: string;
  /** The command that shows this plan in full, with the options the user gave (default: plan --base). */
  command?: string;
  /** Problems of the base revision, which the plan was made around. */
  baseProblems?: readonly BaseProblem[];
}

export function summaryLine(plan: ReviewPlan): string {
  const { adopt, update, release, unchanged } = plan.summary;
  return `${adopt} to adopt, ${update} to update, ${release} to release, ${unchanged} unchanged`;
}

function changedAccounts(plan: ReviewPlan): AccountChange[] {
  return plan.accounts.filter((a) => a.action !== "unchanged");
}

// ---- text ----

/**
 * One line per changed account, the changes `pulumi preview` will refuse, the base's problems, then
 * the summary. What the files control is escaped: it cannot forge a line.
 */
export function formatPlanText(plan: ReviewPlan, sides: PlanSides): string {
  const changed = changedAccounts(plan);
  const width = Math.max(0, ...changed.map((a) => a.id.length));
  const lines = changed.map((a) => terminalSafe(`${a.action.padEnd(9)} ${a.id.padEnd(width)}  ${a.file}${textDetails(a)}`));
  for (const p of plan.refused) lines.push(`refused: ${formatProblemText(p)}`);
  for (const p of sides.baseProblems ?? []) lines.push(`${p.status} at the base: ${formatProblemText(p).split("\n")[0]}`);
  const notes = [
    plan.refused.length > 0 ? `; ${plan.refused.length} ${plan.refused.length === 1 ? "change" : "changes"} pulumi will refuse` : "",
    baseProblemsNote(sides.baseProblems ?? [], "; "),
  ].join("");
  lines.push(terminalSafe(`Plan (${sides.base} → ${sides.head ?? "working tree"}): ${summaryLine(plan)}${notes}.`));
  return lines.join("\n") + "\n";
}

/** `, 2 problems of the base fixed by this change, 1 still present`; "" without base problems. */
function baseProblemsNote(problems: readonly BaseProblem[], lead: string): string {
  if (problems.length === 0) return "";
  const fixed = problems.filter((p) => p.status === "fixed").length;
  const still = problems.length - fixed;
  return `${lead}${problems.length} ${problems.length === 1 ? "problem" : "problems"} of the base: ${fixed} fixed by this change, ${still} still present`;
}

function textDetails(a: AccountChange): string {
  if (a.action === "release") return ": no longer managed (the account is kept in Composio)";
  const parts: string[] = [];
  if (a.lifecycle) parts.push(LIFECYCLE[a.lifecycle].full);
  if (a.movedFrom !== undefined) parts.push(`moved from ${a.movedFrom}`);
  if (a.alias) parts.push(`alias ${textAlias(a.alias.from)} → ${textAlias(a.alias.to)}`);
  if (a.enabled) parts.push(`enabled ${textEnabled(a.enabled.from)} → ${textEnabled(a.enabled.to)}${switchOf(a) ? ` (${switchOf(a)!.full})` : ""}`);
  for (const [name, v] of Object.entries(a.settings ?? {})) parts.push(`${name} ${JSON.stringify(v.from)} → ${JSON.stringify(v.to)}`);
  for (const kind of KINDS) {
    const details = a.credentialDetails.filter((d) => d.kind === kind);
    if (details.length > 0) parts.push(`${kind} ${details.map((d) => `${d.key} (${textReference(d)})`).join(", ")}`);
  }
  return parts.length > 0 ? `: ${parts.join("; ")}` : "";
}

function textAlias(v: string | null): string {
  return v === null ? "unmanaged" : JSON.stringify(v);
}

function textEnabled(v: boolean | null): string {
  return v === null ? "unmanaged" : String(v);
}

function textReference(d: CredentialChange): string {
  if (d.note !== undefined) return `${d.to}: ${d.note}`;
  if (d.from !== undefined && d.to !== undefined) return `${d.from} → ${d.to}`;
  return d.to ?? d.from ?? "";
}

// ---- Markdown ----

export interface MarkdownOptions {
  /** Default: GitHub's comment limit. */
  maxChars?: number;
}

/**
 * The pull-request comment: marker, heading, counts, a table of the changed accounts and the
 * reference details folded below it. When it would not fit in one comment, what a reviewer must see
 * stays: every update and release (row and details) and every refusal; adoptions are cut first
 * (their details, then their rows), and a closing note says how many were left out and how to see
 * them all.
 */
export function formatPlanMarkdown(plan: ReviewPlan, sides: PlanSides, opts: MarkdownOptions = {}): string {
  const { maxChars = MAX_COMMENT_CHARS } = opts;
  const changed = changedAccounts(plan);
  const head = [
    PLAN_COMMENT_MARKER,
    "### Connected accounts plan",
    "",
    `**${summaryLine(plan)}** (${inlineCode(sides.base)} → ${sides.head === undefined ? "working tree" : inlineCode(sides.head)})`,
    "",
    "",
  ].join("\n");
  const footer =
    "\n_Releasing an account only stops managing it: the account is never deleted from Composio. " +
    "References are compared as written, and values in SOPS files by their ciphertext; no secret was read._\n";
  const warnings = markdownRefused(plan.refused) + markdownBaseProblems(sides.baseProblems ?? []);
  if (changed.length === 0) return `${head}${warnings}No account changes.\n${footer}`;

  const tableHead = "| Account | File | Action | Alias | Credentials |\n| --- | --- | --- | --- | --- |\n";
  const detailsOpen = "\n<details>\n<summary>References and settings</summary>\n\n";
  const detailsClose = "\n</details>\n";
  const entries = changed.map((a, order) => ({ order, adopt: a.action === "adopt", row: tableRow(a), detail: detailBlock(a), rowShown: false, detailShown: false }));
  const withDetails = entries.filter((e) => e.detail !== "");
  const cutNote = (cut: CutCounts) =>
    `\n_Cut to fit GitHub's ${MAX_COMMENT_CHARS.toLocaleString("en-US")}-character comment limit: ${describeCut(cut)}. ` +
    `Run ${inlineCode(sides.command ?? `npx connected-accounts plan --base ${sides.base}`)} for the full plan._\n`;
  // Room kept for the cut note, whose counts are known only at the end.
  const worst: CutCounts = { adoptRows: changed.length, otherRows: changed.length, details: changed.length };
  const budget = maxChars - head.length - warnings.length - footer.length - cutNote(worst).length;

  // What a reviewer must see first: the rows and details of updates and releases, then adoptions'.
  let used = tableHead.length;
  const take = (e: (typeof entries)[number], part: "row" | "detail") => {
    const text = part === "row" ? e.row : e.detail;
    const extra = part === "detail" && !entries.some((x) => x.detailShown) ? detailsOpen.length + detailsClose.length : 0;
    if (used + text.length + extra > budget) return false;
    used += text.length + extra;
    if (part === "row") e.rowShown = true;
    else e.detailShown = true;
    return true;
  };
  const others = entries.filter((e) => !e.adopt);
  const adoptions = entries.filter((e) => e.adopt);
  for (const e of others) if (!take(e, "row")) break;
  for (const e of others) if (e.rowShown && e.detail !== "" && !take(e, "detail")) break;
  for (const e of adoptions) if (!take(e, "row")) break;
  for (const e of adoptions) if (e.rowShown && e.detail !== "" && !take(e, "detail")) break;

  const rowsShown = entries.filter((e) => e.rowShown);
  const detailsShown = entries.filter((e) => e.detailShown);
  let body = tableHead + rowsShown.map((e) => e.row).join("");
  if (detailsShown.length > 0) body += detailsOpen + detailsShown.map((e) => e.detail).join("") + detailsClose;
  const cut: CutCounts = {
    adoptRows: adoptions.filter((e) => !e.rowShown).length,
    otherRows: others.filter((e) => !e.rowShown).length,
    details: withDetails.length - detailsShown.length,
  };
  const complete = cut.adoptRows + cut.otherRows + cut.details === 0;
  return head + warnings + body + (complete ? "" : cutNote(cut)) + footer;
}

interface CutCounts {
  adoptRows: number;
  otherRows: number;
  details: number;
}

/** `12 adoptions and the details of 30 accounts not shown (every update and release is)`. */
function describeCut({ adoptRows, otherRows, details }: CutCounts): string {
  const plural = (n: number, one: string, many: string) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
  const parts = [
    otherRows > 0 ? plural(otherRows, "update or release", "updates and releases") : "",
    adoptRows > 0 ? plural(adoptRows, "adoption", "adoptions") : "",
    details > 0 ? `the details of ${plural(details, "account", "accounts")}` : "",
  ].filter(Boolean);
  const listed = parts.length > 1 ? `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}` : parts[0];
  return otherRows === 0 ? `${listed} not shown (every update and release is)` : `${listed} not shown`;
}

/** Changes `pulumi preview` will refuse, above everything else: a reviewer must not approve them. */
function markdownRefused(refused: readonly AccountProblem[]): string {
  if (refused.length === 0) return "";
  const items = refused.map((p) => `> - ${tableCode(p.file)} line ${p.line}: ${escapeMarkdown(p.message)}. Fix: ${escapeMarkdown(p.fix)}.\n`);
  return `> [!CAUTION]\n> **${refused.length} ${refused.length === 1 ? "change" : "changes"} \`pulumi preview\` will refuse:**\n${items.join("")}\n`;
}

function markdownBaseProblems(problems: readonly BaseProblem[]): string {
  if (problems.length === 0) return "";
  const items = problems.slice(0, MAX_BASE_PROBLEMS_SHOWN).map((p) => `- ${p.status}: ${inlineCode(`${p.file}:${p.line}`)} ${p.field ? `${inlineCode(p.field)} ` : ""}${escapeMarkdown(p.message)}\n`);
  const more = problems.length > MAX_BASE_PROBLEMS_SHOWN ? `- and ${problems.length - MAX_BASE_PROBLEMS_SHOWN} more\n` : "";
  return `**${baseProblemsNote(problems, "")}.** The plan compares what could be read at the base.\n\n${items.join("")}${more}\n`;
}

/** Text from the files outside a code span: no character may start Markdown or HTML. */
function escapeMarkdown(text: string): string {
  return text.replace(/\r?\n|\r/g, " ").replace(/[\\`*_{}[\]()<>#+!|~&]/g, (c) => `\\${c}`);
}

function tableRow(a: AccountChange): string {
  const alias = a.alias ? `${markdownAlias(a.alias.from)} → ${markdownAlias(a.alias.to)}` : "";
  const credentials = KINDS.filter((k) => a.credentials[k].length > 0)
    .map((k) => `${k} ${a.credentials[k].map((key) => tableCode(key)).join(", ")}`)
    .join("; ");
  const notes = [a.lifecycle && LIFECYCLE[a.lifecycle].short, switchOf(a)?.short].filter(Boolean);
  const action = notes.length > 0 ? `${a.action} (${notes.join("; ")})` : a.action;
  return `| ${tableCode(a.id)} | ${tableCode(a.file)} | ${action} | ${alias} | ${credentials} |\n`;
}

/** The part of an account's change the table leaves out; "" when the table says it all. */
function detailBlock(a: AccountChange): string {
  const items: string[] = [];
  if (a.lifecycle) items.push(LIFECYCLE[a.lifecycle].full);
  if (a.movedFrom !== undefined) items.push(`moved from ${inlineCode(a.movedFrom)}`);
  if (a.enabled) items.push(`enabled: ${inlineCode(textEnabled(a.enabled.from))} → ${inlineCode(textEnabled(a.enabled.to))}${switchOf(a) ? ` (${switchOf(a)!.full})` : ""}`);
  for (const [name, v] of Object.entries(a.settings ?? {})) items.push(`${name}: ${inlineCode(JSON.stringify(v.from))} → ${inlineCode(JSON.stringify(v.to))}`);
  for (const d of a.credentialDetails) {
    const how = d.note !== undefined ? `${inlineCode(d.to ?? "")} (${escapeMarkdown(d.note)})`
      : d.from !== undefined && d.to !== undefined ? `${inlineCode(d.from)} → ${inlineCode(d.to)}`
      : inlineCode(d.to ?? d.from ?? "");
    items.push(`${inlineCode(d.key)} ${d.kind}: ${how}`);
  }
  if (items.length === 0) return "";
  return `- ${inlineCode(a.id)} ${a.action}\n${items.map((i) => `  - ${i}\n`).join("")}`;
}

function markdownAlias(v: string | null): string {
  if (v === null) return "_unmanaged_";
  if (v === "") return "_empty_";
  return tableCode(v);
}

/** A code span that survives any content: backticks, leading spaces, line breaks. */
export function inlineCode(text: string): string {
  const flat = text.replace(/\r?\n|\r/g, " ");
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") || (flat.startsWith(" ") && flat.endsWith(" ") && flat.trim() !== "") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** In a GFM table a `|` ends the cell even inside a code span unless escaped. */
function tableCode(text: string): string {
  return inlineCode(text).replace(/\|/g, "\\|");
}
