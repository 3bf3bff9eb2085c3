/**
 * Editors check account files against the shipped schema at any depth under accounts/: the workspace
 * maps it by glob, and every bundled file's modeline resolves from its own folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { listAccountFiles } from "../provider/project/account-files";
import { PROJECT_ROOT } from "./support/workspace";

const SCHEMA = path.join(PROJECT_ROOT, "provider/schema/account.schema.json");

describe("schema association", () => {
  it("the workspace settings map the schema to account files at any depth (YAML extension)", () => {
    const settings = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, ".vscode/settings.json"), "utf8")) as { "yaml.schemas": Record<string, string[]> };
    const entries = Object.entries(settings["yaml.schemas"]);
    expect(entries).toHaveLength(1);
    const [schema, globs] = entries[0];
    expect(path.resolve(PROJECT_ROOT, schema)).toBe(SCHEMA);
    expect(globs).toEqual(["accounts/**/*.yaml", "accounts/**/*.yml"]);
    const recommended = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, ".vscode/extensions.json"), "utf8")) as { recommendations: string[] };
    expect(recommended.recommendations).toContain("redhat.vscode-yaml");
  });

  it("every bundled account file's modeline resolves to the schema from its own folder", () => {
    const files = listAccountFiles(path.join(PROJECT_ROOT, "accounts"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(fs.readFileSync(file, "utf8"));
      expect(m, file).not.toBeNull();
      expect(path.resolve(path.dirname(file), m![1]), file).toBe(SCHEMA);
    }
  });
});
