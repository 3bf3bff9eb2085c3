/**
 * `{ file: path }`: a git-ignored file, written relative to the account file. Registered relative to
 * the project root (the provider process finds the root, not the account file); read by the provider
 * with the checks of secret-file.ts, once per process.
 */
import * as path from "node:path";
import { isInside } from "../accounts/validate";
import type { RegisteredRef } from "../plan/account-state";
import type { ReadResult, ReferenceKind, ReferenceProblem, ReferringFile } from "./kind";
import { inspectSecretFile, readSecretFile } from "./secret-file";

type FileRef = { file: string };

export const fileKind: ReferenceKind<FileRef, FileRef> = {
  name: "file",
  form: "{ file: path }",
  example: { file: "../../secrets/github-api-key" },
  schema: {
    type: "object",
    required: ["file"],
    additionalProperties: false,
    properties: { file: { type: "string", minLength: 1, description: "File holding the value, relative to this account file, inside the repository." } },
  },
  written: (ref): ref is FileRef => "file" in ref,
  registered: (ref: RegisteredRef): ref is FileRef => "file" in ref && typeof (ref as FileRef).file === "string",
  refused(ref, site) {
    if (typeof ref.file !== "string" || isInside(site.repoRoot, path.resolve(path.dirname(site.accountPath), ref.file))) return [];
    return [{ message: `file reference "${ref.file}" points outside the repository`, fix: "keep secret files inside the repository (git-ignored), or use an env or config reference", at: ["file"] }];
  },
  explainInvalid: () => undefined,
  check(ref, ctx) {
    const target = fileTarget(ctx.account, ref.file);
    const problems: ReferenceProblem[] = [];
    const inspected = inspectSecretFile(target, ref.file, ctx.repoRoot);
    if ("message" in inspected) problems.push({ ...inspected, at: ["file"] });
    else if ("missing" in inspected && ctx.stage === "deploy") {
      problems.push({ message: `file ${ref.file} does not exist (looked for ${path.relative(ctx.repoRoot, target)})`, fix: "create the file, or correct the path (it is relative to the account file)", at: ["file"] });
    }
    const tracked = ctx.tracked && [target, "realPath" in inspected ? inspected.realPath : undefined].find((p) => p !== undefined && ctx.tracked!.has(p));
    if (tracked) problems.push(trackedProblem(ref.file, path.relative(ctx.repoRoot, tracked).split(path.sep).join("/")));
    return problems;
  },
  // A secret file is never committed (that is refused), so a revision holds nothing to check.
  checkStored: () => [],
  register: (ref, account, projectRoot) => ({ file: path.relative(projectRoot, fileTarget(account, ref.file)).split(path.sep).join("/") }),
  read(ref, ctx): ReadResult {
    const target = path.resolve(ctx.projectRoot, ref.file);
    const read = ctx.once(`file:${target}`, () => readSecretFile(target, ref.file, ctx.projectRoot));
    return "value" in read ? read : { ...read, at: ["file"] };
  },
  describe: (ref) => `file ${ref.file}`,
  target: (ref, account) => fileTarget(account, ref.file),
  commit: "refused",
  committedProblem: (ref, committed) => trackedProblem(ref.file, committed),
  // Relative to the account file: the same text names another file once the account file moves.
  sameSource: (from, fromAccount, to, toAccount) => fileTarget(fromAccount, from.file) === fileTarget(toAccount, to.file),
  // The file is git-ignored: a review cannot see its contents change.
  rotation: () => undefined,
};

export function fileTarget(account: ReferringFile, ref: string): string {
  return path.resolve(path.dirname(account.path), ref);
}

/** A secret file git tracks: committed, readable by anyone with the repository or its history. */
export function trackedProblem(ref: string, committed: string): ReferenceProblem {
  return {
    message: `file ${ref} is tracked by git (${committed}): the secret is committed`,
    fix: `untrack it (git rm --cached ${committed}), ignore it (keep secret files in a git-ignored folder such as secrets/), and rotate the credential: it stays in the history`,
    at: ["file"],
  };
}
