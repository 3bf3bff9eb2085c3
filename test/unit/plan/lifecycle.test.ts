import { describe, expect, it } from "vitest";
import type { RemoteAccount } from "../../../provider/plan/live-account";
import type { DesiredAccount, RecordedAccount, RegisteredAccount } from "../../../provider/plan/account-state";
import {
  adoptionRefusal, adoptionStart, afterPatch, missingFingerprintKey, afterStatus, appliedRecord, authSchemeProblem, checkedInputs, checkNeeds, diffAccount, hasUnknowns,
  movedSinceCheck, normalizeRecorded, nothingApplied, observed, partialFailureReason, pausedRecord, planApply, record, recordedInputs,
  refreshed, refreshes, UNKNOWN, type LegacyRecord,
} from "../../../provider/plan/lifecycle";

const REF = { env: "GITHUB_TOKEN" } as const;
/** The checked inputs of a managed account: references and fingerprints, never values. */
const desired = (over: Partial<DesiredAccount> = {}): DesiredAccount => ({
  nanoid: "ca_1", toolkit: "github", userId: "u", authScheme: "API_KEY", accountFile: "accounts/gh.yaml",
  alias: "prod", credentials: { api_key: REF }, fingerprints: { api_key: "hmac:aaaaaaaaaaaa" }, ...over,
});
/** As recorded after applying `desired()`. */
const recorded = (over: Partial<RecordedAccount> = {}): RecordedAccount => ({ ...record(desired(), "ACTIVE"), ...over });
const remote = (over: Partial<RemoteAccount> = {}): RemoteAccount => ({
  id: "ca_1", alias: "dashboard", status: "ACTIVE", isDisabled: false, toolkit: "github", userId: "u", authScheme: "API_KEY", credentialKeys: [], ...over,
});
/** A record written by 0.1: credential values under `credentials`, no `accountFile`. */
const legacy = (over: Partial<LegacyRecord> = {}): LegacyRecord => {
  const { accountFile: _file, ...rest } = recorded();
  return { ...rest, credentials: { api_key: "ghp_value_recorded_by_0.1" }, ...over } as LegacyRecord;
};

describe("what Check needs to read before it answers", () => {
  const cases: [string, RegisteredAccount, DesiredAccount | undefined, boolean, { credentials: boolean; adoption: boolean }][] = [
    ["an adoption reads credentials and checks the account", desired(), undefined, false, { credentials: true, adoption: true }],
    ["an update reads credentials only", desired(), recorded(), false, { credentials: true, adoption: false }],
    ["a paused account reads nothing", desired({ paused: true }), undefined, false, { credentials: false, adoption: false }],
    ["an observed adoption checks the account, reads no credential", desired({ manage: "observe" }), undefined, false, { credentials: false, adoption: true }],
    ["an observed update reads nothing", desired({ manage: "observe" }), recorded({ manage: "observe" }), false, { credentials: false, adoption: false }],
    ["unknown inputs (a preview) read nothing", desired(), undefined, true, { credentials: false, adoption: false }],
    ["unpausing an account adopted while paused checks it as an adoption", desired(), nothingApplied({ ...desired(), paused: true }), false, { credentials: true, adoption: true }],
    ["unpausing an account applied before is an update", desired(), recorded({ paused: true }), false, { credentials: true, adoption: false }],
  ];
  it.each(cases)("%s", (_name, news, prior, unknowns, needs) => {
    expect(checkNeeds(news, prior, unknowns)).toEqual(needs);
  });

  it("finds the engine's unknown marker in any input but the provider module", () => {
    expect(hasUnknowns(desired({ alias: UNKNOWN }))).toBe(true);
    expect(hasUnknowns(desired({ credentials: { api_key: { env: UNKNOWN } } }))).toBe(true);
    expect(hasUnknowns({ ...desired(), __provider: `exports.x = "${UNKNOWN}"` } as DesiredAccount)).toBe(false);
  });

  it("compares with the record of the same account only, without the engine's keys", () => {
    const olds = { ...recorded(), __provider: "module" } as DesiredAccount;
    expect(recordedInputs(olds, desired())).toEqual(recorded());
    expect(recordedInputs(olds, desired({ nanoid: "ca_2" }))).toBeUndefined();
    expect(recordedInputs(undefined, desired())).toBeUndefined();
  });

  it("refuses a changed auth scheme, except while the new one is unknown", () => {
    expect(authSchemeProblem(recorded(), desired({ authScheme: "OAUTH2" }))).toMatch(/authScheme cannot change from API_KEY to OAUTH2/);
    expect(authSchemeProblem(recorded(), desired({ authScheme: UNKNOWN }))).toBeUndefined();
    expect(authSchemeProblem(undefined, desired({ authScheme: "OAUTH2" }))).toBeUndefined();
  });
});

describe("what Check returns (what the preview shows and the state keeps)", () => {
  const cases: [string, DesiredAccount | undefined, DesiredAccount, RemoteAccount | undefined, DesiredAccount][] = [
    ["a managed account: the file as checked", recorded(), desired({ alias: "new" }), undefined, desired({ alias: "new" })],
    ["pausing freezes everything recorded; only the pause shows", recorded(), desired({ alias: "new", fingerprints: { api_key: "hmac:bbbbbbbbbbbb" }, paused: true }), undefined,
      { ...recorded(), paused: true }],
    ["a paused adoption shows the identity only", undefined, desired({ paused: true }), undefined,
      { nanoid: "ca_1", toolkit: "github", userId: "u", authScheme: "API_KEY", accountFile: "accounts/gh.yaml", credentials: {}, paused: true }],
    ["switching to observe keeps what was applied, unpaused", recorded({ paused: true }), desired({ alias: "new", manage: "observe" }), undefined,
      { ...recorded(), manage: "observe" }],
    ["observing from the start: alias and enabled as Composio has them", undefined, desired({ manage: "observe", enabled: true }), remote({ alias: null, isDisabled: true }),
      { nanoid: "ca_1", toolkit: "github", userId: "u", authScheme: "API_KEY", accountFile: "accounts/gh.yaml", credentials: {}, manage: "observe", alias: "", enabled: false }],
    ["a record from 0.1 frozen by a pause: its credential values are not carried over", legacy(), desired({ paused: true }), undefined,
      { ...legacy(), credentials: { api_key: REF }, accountFile: "accounts/gh.yaml", paused: true }],
  ];
  it.each(cases)("%s", (_name, prior, news, live, inputs) => {
    expect(checkedInputs(prior, news, live)).toEqual(inputs);
  });
});

describe("whether an up has anything to do (Diff)", () => {
  const cases: [string, RecordedAccount | LegacyRecord, DesiredAccount, boolean, { changes: boolean; replaces?: string[] }][] = [
    ["nothing changed", recorded(), desired(), false, { changes: false }],
    ["another account id replaces the resource", recorded(), desired({ nanoid: "ca_2" }), false, { changes: true, replaces: ["nanoid"] }],
    ["refused by Check: its update runs and fails", recorded(), desired(), true, { changes: true }],
    ["a rotated key", recorded(), desired({ fingerprints: { api_key: "hmac:bbbbbbbbbbbb" } }), false, { changes: true }],
    ["a new alias", recorded(), desired({ alias: "staging" }), false, { changes: true }],
    ["a key removed from the file", recorded(), desired({ credentials: {}, fingerprints: {} }), false, { changes: true }],
    ["pausing is recorded", recorded(), desired({ paused: true }), false, { changes: true }],
    ["a change while paused waits", recorded({ paused: true }), desired({ alias: "staging", paused: true }), false, { changes: false }],
    ["unpausing", recorded({ paused: true }), desired(), false, { changes: true }],
    ["switching to observe", recorded(), desired({ manage: "observe" }), false, { changes: true }],
    ["an observed account whose file changed", recorded({ manage: "observe" }), desired({ manage: "observe", alias: "x" }), false, { changes: false }],
    ["an observed account now declaring enabled", recorded({ manage: "observe" }), desired({ manage: "observe", enabled: true }), false, { changes: true }],
    ["enabling", recorded({ enabled: false }), desired({ enabled: true }), false, { changes: true }],
    ["unknown inputs", recorded(), desired({ alias: UNKNOWN }), false, { changes: true }],
    ["a record from 0.1 with the same fingerprints", legacy(), desired(), false, { changes: false }],
  ];
  it.each(cases)("%s", (_name, olds, news, refused, expected) => {
    expect(diffAccount(olds, news, refused)).toMatchObject(expected);
  });
});

describe("what is recorded", () => {
  it("an adoption while paused records nothing applied, so unpausing applies everything", () => {
    expect(nothingApplied(desired({ paused: true, enabled: true, removedCredentials: ["password"] }))).toEqual({
      nanoid: "ca_1", toolkit: "github", userId: "u", authScheme: "API_KEY", accountFile: "accounts/gh.yaml", credentials: { api_key: REF }, paused: true,
    });
  });

  it("an adoption starts from Composio's status and, when the file says enabled, its enabled state", () => {
    expect(adoptionStart(desired({ enabled: true }), remote({ isDisabled: true, status: "INACTIVE" }))).toMatchObject({ enabled: false, status: "INACTIVE" });
    expect(adoptionStart(desired(), remote({ isDisabled: true }))).not.toHaveProperty("enabled");
    expect(adoptionStart(desired(), remote())).not.toHaveProperty("fingerprints");
  });

  it("pausing records the pause and keeps the status", () => {
    expect(pausedRecord(recorded({ statusReason: "why" }))).toEqual({ ...recorded({ statusReason: "why" }), paused: true });
  });

  it("an observed account records what Composio has and keeps the fingerprints applied before", () => {
    expect(observed(desired({ manage: "observe", enabled: true }), remote({ statusReason: "r" }))).toEqual({
      ...recorded(), manage: "observe", alias: "dashboard", enabled: true, statusReason: "r",
    });
  });

  it("a record holds no undefined and no empty collection", () => {
    const out = record(desired({ removedCredentials: [], fingerprints: {}, alias: undefined }), undefined);
    expect(Object.values(out)).not.toContain(undefined);
    expect(out).not.toHaveProperty("removedCredentials");
    expect(out).not.toHaveProperty("fingerprints");
  });

  it("a record from 0.1 is read without its credential values", () => {
    expect(normalizeRecorded(legacy()).credentials).toEqual({});
    expect(JSON.stringify(normalizeRecorded(legacy()))).not.toContain("ghp_value_recorded_by_0.1");
  });
});

describe("an apply and what each request leaves recorded", () => {
  const values = { api_key: "v2" };
  const rotated = desired({ fingerprints: { api_key: "hmac:bbbbbbbbbbbb" }, enabled: true });

  it("disables before the PATCH, enables after it", () => {
    expect(planApply(recorded({ enabled: true }), desired({ ...rotated, enabled: false }), values).map((r) => r.step)).toEqual(["status", "patch"]);
    expect(planApply(recorded({ enabled: false }), rotated, values).map((r) => r.step)).toEqual(["patch", "status"]);
  });

  it("sends the PATCH body the planner gives, and nothing when nothing changed", () => {
    expect(planApply(recorded(), desired({ fingerprints: { api_key: "hmac:bbbbbbbbbbbb" } }), values)).toEqual([
      { step: "patch", body: { connection: { state: { authScheme: "API_KEY", val: { api_key: "v2" } } } } },
    ]);
    expect(planApply(recorded(), desired(), values)).toEqual([]);
  });

  it("a PATCH answered with a status records it and drops the stale reason", () => {
    const before = recorded({ enabled: false, statusReason: "expired token", status: "EXPIRED" });
    expect(afterPatch(before, rotated, "ACTIVE")).toMatchObject({ status: "ACTIVE", fingerprints: rotated.fingerprints, enabled: false });
    expect(afterPatch(before, rotated, "ACTIVE")).not.toHaveProperty("statusReason");
    expect(afterPatch(before, rotated, undefined)).toMatchObject({ status: "EXPIRED", statusReason: "expired token" });
  });

  it("enabling a broken connection keeps its status and says so", () => {
    expect(afterStatus(recorded({ enabled: false, status: "INACTIVE" }), true)).toEqual({ record: { ...recorded(), enabled: true, status: "ACTIVE" }, note: undefined });
    const broken = afterStatus(recorded({ enabled: false, status: "EXPIRED" }), true);
    expect(broken.record.status).toBe("EXPIRED");
    expect(broken.note).toMatch(/connection is EXPIRED: enabling does not repair a connection/);
  });

  it("once everything went through, records the file with Composio's status", () => {
    expect(appliedRecord(rotated, recorded({ enabled: true, status: "ACTIVE" }))).toEqual({ ...record(rotated, "ACTIVE") });
  });

  it("a partial failure says what was applied and is recorded", () => {
    expect(partialFailureReason("HTTP 500", recorded({ enabled: false }), "patch")).toBe(
      "HTTP 500\n  The account was disabled and that is recorded; the next pulumi up sends only what is still missing.",
    );
    expect(partialFailureReason("HTTP 500", recorded(), "status")).toMatch(/The alias and credential change was applied and is recorded/);
  });

  it("a value that moved since Check is named, so nothing is sent", () => {
    expect(movedSinceCheck(desired(), { api_key: "hmac:aaaaaaaaaaaa" })).toBeUndefined();
    expect(movedSinceCheck(desired(), { api_key: "hmac:cccccccccccc" })).toBe(
      "connected account ca_1: the value of credentials.api_key changed after it was checked; nothing was sent. Run pulumi up again (the next preview shows the value as changed).",
    );
  });

  it("an adoption is refused when the file does not describe the account Composio has", () => {
    expect(adoptionRefusal(desired(), remote())).toBeUndefined();
    expect(adoptionRefusal(desired(), remote({ userId: "other" }))).toBe(
      "connected account ca_1 has userId other in Composio, not u; nothing was changed in Composio. Correct the file: set userId: other (an account belongs to one user), or point the file at the account you meant.",
    );
    expect(adoptionRefusal(desired(), undefined)).toMatch(/^connected account ca_1 does not exist in Composio; nothing was changed/);
  });
});

describe("a refresh", () => {
  it("leaves paused accounts alone", () => {
    expect(refreshes(recorded({ paused: true }))).toBe(false);
    expect(refreshes(undefined)).toBe(false);
    expect(refreshes(recorded())).toBe(true);
  });

  it("records the status; an unchanged alias returns no inputs", () => {
    expect(refreshed(recorded({ statusReason: "old" }), remote({ alias: "prod", status: "EXPIRED" }))).toEqual({ props: { ...recorded(), status: "EXPIRED" } });
  });

  it("a drifted alias or enabled becomes the recorded input", () => {
    const out = refreshed(recorded({ enabled: true }), remote({ alias: "renamed", isDisabled: true }));
    expect(out.props).toMatchObject({ alias: "renamed", enabled: false });
    const { status: _status, ...inputs } = recorded();
    expect(out.inputs).toEqual({ ...inputs, alias: "renamed", enabled: false });
  });

  it("an alias the file does not manage is not recorded", () => {
    expect(refreshed(record(desired({ alias: undefined }), "ACTIVE"), remote({ alias: "whatever" })).props).not.toHaveProperty("alias");
  });

  it("a record from 0.1 loses its credential values", () => {
    expect(JSON.stringify(refreshed(legacy(), remote({ alias: "prod" })))).not.toContain("ghp_value_recorded_by_0.1");
  });
});

describe("the fingerprint key", () => {
  it("is needed by an account with credentials, with the command that sets it", () => {
    expect(missingFingerprintKey(desired(), undefined)).toBe(
      'stack config connected-accounts:fingerprintKey is not set; fix: pulumi config set --secret connected-accounts:fingerprintKey "$(openssl rand -hex 32)"',
    );
    expect(missingFingerprintKey(desired(), "k".repeat(64))).toBeUndefined();
    expect(missingFingerprintKey(desired({ credentials: {} }), undefined)).toBeUndefined();
  });
});
