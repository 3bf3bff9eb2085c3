import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";

/** The project root, from test/support/ (vitest) or from its compiled copy in dist/test/support/ (the bench). */
const ABOVE = path.resolve(__dirname, "../..");
export const PROJECT_ROOT = fs.existsSync(path.join(ABOVE, "Pulumi.yaml")) ? ABOVE : path.dirname(ABOVE);

/**
 * A scratch folder of account files inside the project (git-ignored), so `file:` references
 * resolve within the repository just as they do for a user.
 */
export class Workspace {
  readonly dir: string;

  /** `under`: the folder to make it in (default test/.work). */
  constructor(name: string, under?: string) {
    const base = under ?? path.join(PROJECT_ROOT, "test/.work");
    fs.mkdirSync(base, { recursive: true });
    this.dir = fs.mkdtempSync(path.join(base, `${name}-`));
    this.accountsDir = path.join(this.dir, "accounts");
    fs.mkdirSync(this.accountsDir, { recursive: true });
  }

  readonly accountsDir: string;

  /** Writes an account file (object → YAML, or raw text). Returns its path. */
  write(relPath: string, content: Record<string, unknown> | string): string {
    const file = path.join(this.accountsDir, relPath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === "string" ? content : stringify(content));
    return file;
  }

  /** Writes a file outside the accounts folder but inside the workspace (e.g. a secret file). */
  writeRaw(relPath: string, content: string | Buffer): string {
    const file = path.join(this.dir, relPath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  }

  remove(relPath: string): void {
    fs.rmSync(path.join(this.accountsDir, relPath), { force: true });
  }

  path(relPath: string): string {
    return path.join(this.dir, relPath);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
