import { describe, expect, it } from "vitest";
import { MAX_NOT_ACTIVE_LISTED, summarizeFleet } from "../../../provider/plan/fleet-summary";
import type { DesiredAccount, RecordedAccount } from "../../../provider/plan/account-state";
import { fingerprintAll } from "../../../provider/plan/fingerprint";
import { planPatch as planWithValues, recordDiffers } from "../../../provider/plan/patch-plan";
import { applyOrder, brokenConnectionNote, planStatus, statusAfter } from "../../../provider/plan/status-plan";

const KEY = "fingerprint-key";
/** In these cases every credential is a literal: its value is what the provider would have read. */
const planPatch = (r: RecordedAccount | undefined, d: DesiredAccount) => planWithValues(r, d, d.credentials as Record<string, string>);
/** As the program declares it: fingerprints follow the credential values. */
const desired = (over: Partial<DesiredAccount> = {}, key = KEY): DesiredAccount => {
  const credentials = over.credentials ?? { api_key: "k1", subdomain: "acme" };
  return {
    nanoid: "ca_1", toolkit: "github", userId: "u", authScheme: "API_KEY", alias: "prod",
    removedCredentials: [], ...over, credentials, fingerprints: fingerprintAll(key, credentials as Record<string, string>),
  };
};
/** As recorded after applying `desired()`: fingerprints, never the values. */
const recorded = (over: Partial<RecordedAccount> = {}): RecordedAccount => {
  const { credentials: _values, ...applied } = desired();
  return { ...applied, credentials: {}, status: "ACTIVE", ...over };
};

describe("planPatch: recorded × desired → the minimal PATCH", () => {
  it("adopts: sends everything declared once, removals as null", () => {
    const plan = planPatch(undefined, desired({ removedCredentials: ["password"] }));
    expect(plan.body).toEqual({ alias: "prod", connection: { state: { authScheme: "API_KEY", val: { api_key: "k1", password: null, subdomain: "acme" } } } });
    expect(plan.credentials).toEqual({ added: ["api_key", "subdomain"], changed: [], removed: ["password"] });
  });

  it("sends nothing when nothing changed", () => {
    expect(planPatch(recorded(), desired()).body).toBeUndefined();
  });

  it("sends only the alias when only the alias changed", () => {
    const plan = planPatch(recorded(), desired({ alias: "staging" }));
    expect(plan.body).toEqual({ alias: "staging" });
    expect(plan.alias).toEqual({ from: "prod", to: "staging" });
  });

  it("never sends an alias the file does not manage, and clears it with an empty string", () => {
    expect(planPatch(recorded(), desired({ alias: undefined })).body).toBeUndefined();
    expect(planPatch(recorded(), desired({ alias: "" })).body).toEqual({ alias: "" });
  });

  it("sends only the rotated key, with the scheme beside it", () => {
    const plan = planPatch(recorded(), desired({ credentials: { api_key: "k2", subdomain: "acme" } }));
    expect(plan.body).toEqual({ connection: { state: { authScheme: "API_KEY", val: { api_key: "k2" } } } });
    expect(plan.credentials.changed).toEqual(["api_key"]);
  });

  it("sends null for a key dropped from the file", () => {
    const plan = planPatch(recorded(), desired({ credentials: { api_key: "k1" } }));
    expect(plan.body).toEqual({ connection: { state: { authScheme: "API_KEY", val: { subdomain: null } } } });
  });

  it("sends an explicit null once, then nothing", () => {
    const first = planPatch(recorded(), desired({ removedCredentials: ["password"] }));
    expect(first.body).toEqual({ connection: { state: { authScheme: "API_KEY", val: { password: null } } } });
    const after = recorded({ removedCredentials: ["password"] });
    expect(planPatch(after, desired({ removedCredentials: ["password"] })).body).toBeUndefined();
  });

  it("sends a null once for a managed key turned into null", () => {
    const plan = planPatch(recorded(), desired({ credentials: { subdomain: "acme" }, removedCredentials: ["api_key"] }));
    expect(plan.body?.connection?.state.val).toEqual({ api_key: null });
    expect(plan.credentials).toEqual({ added: [], changed: [], removed: ["api_key"] });
  });

  it("compares credentials by fingerprint: a rotated fingerprint key sends each credential once", () => {
    const rekeyed = desired({}, "rotated-fingerprint-key");
    expect(planPatch(recorded(), rekeyed).body).toEqual({ connection: { state: { authScheme: "API_KEY", val: { api_key: "k1", subdomain: "acme" } } } });
    expect(planPatch(recorded({ fingerprints: rekeyed.fingerprints }), rekeyed).body).toBeUndefined();
  });

  it("notices record-only changes without a request", () => {
    const moved = desired({ userId: "another-user" });
    expect(planPatch(recorded(), moved).body).toBeUndefined();
    expect(recordDiffers(recorded(), moved)).toBe(true);
    expect(recordDiffers(recorded(), desired())).toBe(false);
  });
});

describe("planStatus: recorded × desired → the status request", () => {
  it("sends nothing while the file does not say enabled, whatever was recorded", () => {
    expect(planStatus(recorded({ enabled: false }), desired())).toBeUndefined();
    expect(planStatus(undefined, desired())).toBeUndefined();
  });

  it("sends the declared value only when it differs from the recorded one", () => {
    expect(planStatus(recorded({ enabled: false }), desired({ enabled: false }))).toBeUndefined();
    expect(planStatus(recorded({ enabled: true }), desired({ enabled: false }))).toEqual({ nanoid: "ca_1", body: { enabled: false }, from: true });
    expect(planStatus(recorded({ enabled: false }), desired({ enabled: true }))).toEqual({ nanoid: "ca_1", body: { enabled: true }, from: false });
  });

  it("sends the declared value once when nothing was recorded (adoption, or enabled newly declared)", () => {
    expect(planStatus(undefined, desired({ enabled: true }))).toEqual({ nanoid: "ca_1", body: { enabled: true } });
    expect(planStatus(recorded(), desired({ enabled: false }))).toEqual({ nanoid: "ca_1", body: { enabled: false } });
  });

  it("disables before the PATCH and enables after it", () => {
    const patch = planPatch(recorded(), desired({ alias: "new" }));
    expect(applyOrder(patch, planStatus(recorded({ enabled: true }), desired({ enabled: false })))).toEqual(["status", "patch"]);
    expect(applyOrder(patch, planStatus(recorded({ enabled: false }), desired({ enabled: true })))).toEqual(["patch", "status"]);
    expect(applyOrder(patch, undefined)).toEqual(["patch"]);
    expect(applyOrder(planPatch(recorded(), desired()), planStatus(recorded(), desired({ enabled: true })))).toEqual(["status"]);
    expect(applyOrder(planPatch(recorded(), desired()), undefined)).toEqual([]);
  });

  it("records a change of enabled even when no request is needed (the line removed)", () => {
    expect(recordDiffers(recorded({ enabled: false }), desired())).toBe(true);
    expect(recordDiffers(recorded({ enabled: false }), desired({ enabled: false }))).toBe(false);
  });

  it("expects INACTIVE and ACTIVE after a switch, but a broken connection to stay so", () => {
    expect(statusAfter(false, "ACTIVE")).toBe("INACTIVE");
    expect(statusAfter(true, "INACTIVE")).toBe("ACTIVE");
    expect(statusAfter(true, undefined)).toBe("ACTIVE");
    expect(statusAfter(true, "EXPIRED")).toBe("EXPIRED");
    expect(statusAfter(false, "FAILED")).toBe("FAILED");
    expect(brokenConnectionNote("ca_1", "EXPIRED")).toContain("enabling does not repair a connection");
    expect(brokenConnectionNote("ca_1", "ACTIVE")).toBeUndefined();
  });
});

describe("summarizeFleet: the one stack output", () => {
  it("counts by toolkit and status and lists at most 20 accounts that need attention, however large the fleet", () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: `ca_${String(i).padStart(5, "0")}`, toolkit: i % 2 ? "github" : "slack", status: i % 100 === 0 ? "EXPIRED" : i === 7 ? undefined : "ACTIVE" }));
    const summary = summarizeFleet(rows);
    expect(summary.total).toBe(5000);
    expect(summary.byToolkit).toEqual({ github: 2500, slack: 2500 });
    expect(summary.byStatus).toEqual({ ACTIVE: 4949, EXPIRED: 50, UNKNOWN: 1 });
    expect(summary.notActive).toHaveLength(MAX_NOT_ACTIVE_LISTED);
    expect(summary.notActive.slice(0, 2)).toEqual([{ id: "ca_00000", toolkit: "slack", status: "EXPIRED" }, { id: "ca_00007", toolkit: "github", status: "UNKNOWN" }]);
    expect(summary.notActiveNotListed).toBe(51 - MAX_NOT_ACTIVE_LISTED);
    expect(JSON.stringify(summary).length).toBeLessThan(2000);
    expect(summarizeFleet(rows.slice(1, 3))).toEqual({ total: 2, byToolkit: { github: 1, slack: 1 }, byStatus: { ACTIVE: 2 }, notActive: [] });
  });
});
