/**
 * Renders a ReviewPlan for people (text), machines (JSON) and pull requests (Markdown). Pure: the
 * plan holds reference descriptions and non-secret literals only, so nothing here can leak a secret.
 */
import type { AccountChange, CredentialChange, CredentialChangeKind, PlanAction, ReviewPlan } from "./account-changes";

/** First line of the pull-request comment: the workflow finds its own comment again by it. */
export const PLAN_COMMENT_MARKER = "<!-- connected-accounts-plan -->";
/** GitHub refuses comments longer than this many characters. */
export const MAX_COMMENT_CHARS = 65_536;

const KINDS: readonly CredentialChangeKind[] = ["added", "changed", "removed"];

export interface PlanJson {
  summary: Record<PlanAction, number>;
  accounts: {
    id: string;
    file: string;
    action: PlanAction;
    movedFrom?: string;
    alias?: { from: string | null; to: string | null };
    settings?: AccountChange["settings"];
    credentials: Record<CredentialChangeKind, string[]>;
  }[];
}

export function planToJson(plan: ReviewPlan): PlanJson {
  return {
    summary: plan.summary,
    accounts: plan.accounts.map((a) => ({
      id: a.id,
      file: a.file,
      action: a.action,
      ...(a.movedFrom !== undefined && { movedFrom: a.movedFrom }),
      ...(a.alias && { alias: a.alias }),
      ...(a.settings && { settings: a.settings }),
      credentials: a.credentials,
    })),
  };
}

/** Where the comparison starts and ends, as the user named them. */
export interface PlanSides {
  base: string;
  /** undefined: the working tree. */
  head?: string;
}

export function summaryLine(plan: ReviewPlan): string {
  const { adopt, update, release, unchanged } = plan.summary;
  return `${adopt} to adopt, ${update} to update, ${release} to release, ${unchanged} unchanged`;
}

function changedAccounts(plan: ReviewPlan): AccountChange[] {
  return plan.accounts.filter((a) => a.action !== "unchanged");
}

// ---- text ----

/** One line per changed account, then the summary. */
export function formatPlanText(plan: ReviewPlan, sides: PlanSides): string {
  const changed = changedAccounts(plan);
  const width = Math.max(0, ...changed.map((a) => a.id.length));
  const lines = changed.map((a) => `${a.action.padEnd(9)} ${a.id.padEnd(width)}  ${a.file}${textDetails(a)}`);
  lines.push(`Plan (${sides.base} → ${sides.head ?? "working tree"}): ${summaryLine(plan)}.`);
  return lines.join("\n") + "\n";
}

function textDetails(a: AccountChange): string {
  if (a.action === "release") return ": no longer managed (the account is kept in Composio)";
  const parts: string[] = [];
  if (a.movedFrom !== undefined) parts.push(`moved from ${a.movedFrom}`);
  if (a.alias) parts.push(`alias ${textAlias(a.alias.from)} → ${textAlias(a.alias.to)}`);
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

function textReference(d: CredentialChange): string {
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
 * reference details folded below it. When it would not fit in one comment, details go first, then
 * table rows, and a closing note says what was cut.
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
    "References are compared as written; no secret was read._\n";
  if (changed.length === 0) return `${head}No account changes.\n${footer}`;

  const tableHead = "| Account | File | Action | Alias | Credentials |\n| --- | --- | --- | --- | --- |\n";
  const rows = changed.map(tableRow);
  const details = changed.map(detailBlock).filter((d) => d !== "");
  const detailsOpen = "\n<details>\n<summary>References and settings</summary>\n\n";
  const detailsClose = "\n</details>\n";
  const cutNote = (rowsCut: number, detailsCut: number) => {
    const what = [
      rowsCut > 0 ? `${rowsCut} table row${rowsCut === 1 ? "" : "s"}` : "",
      detailsCut > 0 ? `the details of ${detailsCut} account${detailsCut === 1 ? "" : "s"}` : "",
    ].filter(Boolean).join(" and ");
    return `\n_Cut to fit GitHub's ${MAX_COMMENT_CHARS.toLocaleString("en-US")}-character comment limit: ${what} not shown. ` +
      `Run ${inlineCode(`npx connected-accounts plan --base ${sides.base}`)} for the full plan._\n`;
  };
  // Room kept for the cut note, whose counts are known only at the end.
  const budget = maxChars - head.length - footer.length - cutNote(changed.length, changed.length).length;

  let used = tableHead.length;
  let rowsShown = 0;
  while (rowsShown < rows.length && used + rows[rowsShown].length <= budget) used += rows[rowsShown++].length;
  let detailsShown = 0;
  if (rowsShown === rows.length && details.length > 0) {
    used += detailsOpen.length + detailsClose.length;
    while (detailsShown < details.length && used + details[detailsShown].length <= budget) used += details[detailsShown++].length;
  }
  const complete = rowsShown === rows.length && detailsShown === details.length;
  let body = tableHead + rows.slice(0, rowsShown).join("");
  if (detailsShown > 0) body += detailsOpen + details.slice(0, detailsShown).join("") + detailsClose;
  return head + body + (complete ? "" : cutNote(rows.length - rowsShown, details.length - detailsShown)) + footer;
}

function tableRow(a: AccountChange): string {
  const alias = a.alias ? `${markdownAlias(a.alias.from)} → ${markdownAlias(a.alias.to)}` : "";
  const credentials = KINDS.filter((k) => a.credentials[k].length > 0)
    .map((k) => `${k} ${a.credentials[k].map((key) => tableCode(key)).join(", ")}`)
    .join("; ");
  return `| ${tableCode(a.id)} | ${tableCode(a.file)} | ${a.action} | ${alias} | ${credentials} |\n`;
}

/** The part of an account's change the table leaves out; "" when the table says it all. */
function detailBlock(a: AccountChange): string {
  const items: string[] = [];
  if (a.movedFrom !== undefined) items.push(`moved from ${inlineCode(a.movedFrom)}`);
  for (const [name, v] of Object.entries(a.settings ?? {})) items.push(`${name}: ${inlineCode(JSON.stringify(v.from))} → ${inlineCode(JSON.stringify(v.to))}`);
  for (const d of a.credentialDetails) {
    const how = d.from !== undefined && d.to !== undefined ? `${inlineCode(d.from)} → ${inlineCode(d.to)}` : inlineCode(d.to ?? d.from ?? "");
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
