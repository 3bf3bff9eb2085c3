import { describe, expect, it } from "vitest";
import type { DesiredAccount, RecordedAccount } from "../provider/plan/account-state";
import { planPatch, recordDiffers } from "../provider/plan/patch-plan";

const desired = (over: Partial<DesiredAccount> = {}): DesiredAccount => ({
  nanoid: "ca_1", toolkit: "github", userId: "u", authScheme: "API_KEY", alias: "prod",
  credentials: { api_key: "k1", subdomain: "acme" }, removedCredentials: [], fingerprints: {}, ...over,
});
const recorded = (over: Partial<RecordedAccount> = {}): RecordedAccount => ({ ...desired(), status: "ACTIVE", ...over });

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

  it("notices record-only changes (fingerprint key rotated) without a request", () => {
    const d = desired({ fingerprints: { api_key: "hmac:new" } });
    expect(planPatch(recorded(), d).body).toBeUndefined();
    expect(recordDiffers(recorded({ fingerprints: { api_key: "hmac:old" } }), d)).toBe(true);
    expect(recordDiffers(recorded({ fingerprints: { api_key: "hmac:new" } }), d)).toBe(false);
  });
});
