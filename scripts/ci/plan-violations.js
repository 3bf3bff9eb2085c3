// What the engine refused when `pulumi up --plan` met something the reviewed preview did not
// show, in the project's words: which account, which field, what was reviewed and what the apply
// found instead. Pulumi reports it per resource as
//   resource <urn> violates plan: properties changed: =~alias[{b2}], ~~fingerprints[{map[…]}!={map[…]}]
//   <op> is not allowed by the plan: …            (with the resource's urn in the diagnostic)
//   expected resource operations for <urn> but none were seen
// Each change is <what the plan expected><what the apply would do><property>[<values>], where an
// expectation is + add, ~ update, - delete, = unchanged (pkg/resource/deploy/plan.go, MakeError).
// Values are Go's rendering of Pulumi property values ({text}, {map[key:{value} …]}): the checked
// inputs, which hold references and keyed fingerprints, never a credential value.
"use strict";

const ACCOUNT_TYPE = "pulumi-nodejs:dynamic/composio:ConnectedAccount";
const OPERATIONS = { "+": "added", "~": "changed", "-": "removed", "=": "unchanged" };

/** `resource urn:… violates plan: properties changed: …`, the urn and the list of changes. */
const PROPERTIES_CHANGED = /resource (urn:pulumi:\S+) violates plan: properties changed: (.*)$/;
/** `resource urn:… violates plan: <anything else>` (a changed provider, dependency or option). */
const OTHER_VIOLATION = /resource (urn:pulumi:\S+) violates plan: (.*)$/;
const NOT_ALLOWED = /(create|update|delete|replace|same|read|import|refresh|discard|create-replacement|delete-replaced)\S* is not allowed by the plan: (.*)$/;
const NOT_SEEN = /expected resource operations for (urn:pulumi:\S+) but none were seen/;
/** The block heading of a resource's diagnostics in the CLI's text, and its urn in an event. */
const DIAGNOSTIC_HEADING = /^ {2}(\S+) \(([^)]*)\):$/;

/** The resource's name (an account's id) from its urn. */
function urnName(urn) {
  return urn.split("::").pop();
}

function isAccount(urn) {
  return urn.split("::").slice(-2, -1)[0] === ACCOUNT_TYPE;
}

/**
 * One Go-rendered property value: `{text}` → "text", `{map[a:{x} b:{y}]}` → {a: "x", b: "y"}
 * (nested), `{[{x} {y}]}` → ["x", "y"]. Anything else is returned as it came.
 */
function parseValue(text) {
  const inner = text.startsWith("{") && text.endsWith("}") ? text.slice(1, -1) : undefined;
  if (inner === undefined) return text;
  if (inner.startsWith("map[") && inner.endsWith("]")) {
    const entries = splitBalanced(inner.slice(4, -1));
    const out = {};
    for (const entry of entries) {
      const colon = entry.indexOf(":{");
      if (colon < 0) return text;
      out[entry.slice(0, colon)] = parseValue(entry.slice(colon + 1));
    }
    return out;
  }
  if (inner.startsWith("[") && inner.endsWith("]")) return splitBalanced(inner.slice(1, -1)).map(parseValue);
  return inner;
}

/** `a:{x y} b:{z}` → ["a:{x y}", "b:{z}"]: splits at spaces outside braces and brackets. */
function splitBalanced(text) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === " " && depth === 0) {
      if (i > start) parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (start < text.length) parts.push(text.slice(start));
  return parts;
}

/** `=~alias[{b2}]`, `~~fingerprints[{…}!={…}]`, … (comma-separated at depth 0) → changes. */
function parseChanges(list) {
  const changes = [];
  let depth = 0;
  let start = 0;
  const items = [];
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      items.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(list.slice(start).trim());
  for (const item of items) {
    const m = /^([+~=-])([+~=-])([^[\s]+)(?:\[(.*)\])?$/.exec(item);
    if (!m) {
      changes.push({ property: item, expected: "?", actual: "?" });
      continue;
    }
    const change = { property: m[3], expected: OPERATIONS[m[1]], actual: OPERATIONS[m[2]] };
    if (m[4] !== undefined) {
      const split = splitValues(m[4]);
      if (split.length === 2) {
        change.reviewedValue = parseValue(split[0]);
        change.value = parseValue(split[1]);
      } else if (m[2] === "-") change.reviewedValue = parseValue(m[4]);
      else change.value = parseValue(m[4]);
    }
    changes.push(change);
  }
  return changes;
}

/** `{a}!={b}` → ["{a}", "{b}"] (the `!=` outside braces); one value → [value]. */
function splitValues(text) {
  let depth = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === "!" && text[i + 1] === "=" && depth === 0) return [text.slice(0, i), text.slice(i + 2)];
  }
  return [text];
}

/**
 * Every refusal in what `pulumi up --plan` printed (the CLI's text, or its event log's messages),
 * once per resource and kind, in the order printed.
 */
function parseViolations(output) {
  const found = [];
  const seen = new Set();
  const add = (v) => {
    const key = `${v.urn}\u0000${v.kind}\u0000${v.detail}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push(v);
  };
  let headingName;
  for (const line of String(output).split(/\r?\n/)) {
    const heading = DIAGNOSTIC_HEADING.exec(line);
    if (heading) headingName = heading[2];
    let m;
    if ((m = PROPERTIES_CHANGED.exec(line))) add({ urn: m[1], kind: "properties", detail: m[2], changes: parseChanges(m[2]) });
    else if ((m = OTHER_VIOLATION.exec(line))) add({ urn: m[1], kind: "other", detail: m[2], changes: [] });
    else if ((m = NOT_SEEN.exec(line))) add({ urn: m[1], kind: "missing", detail: "the reviewed preview planned a step for it, the apply found none", changes: [] });
    else if ((m = NOT_ALLOWED.exec(line))) {
      // The urn is the diagnostic's: the progress line names the resource by type and name before it.
      const named = /(\S+) (\S+)\s+error: /.exec(line);
      const name = named ? named[2] : headingName;
      add({ urn: name ? `urn:pulumi:?::?::${named ? named[1] : ACCOUNT_TYPE}::${name}` : "?", kind: "operation", detail: `the apply would ${m[1]} it, which the reviewed plan does not allow (${m[2]})`, changes: [] });
    }
  }
  return found;
}

/** The reviewed checked inputs of a resource in a saved plan (`resourcePlans[urn].state`), by urn or name. */
function reviewedState(plan, urn) {
  const plans = (plan && plan.resourcePlans) || {};
  if (plans[urn]) return plans[urn].state || {};
  const name = urnName(urn);
  const byName = Object.keys(plans).find((u) => urnName(u) === name && isAccount(u));
  return byName ? plans[byName].state || {} : undefined;
}

/** Keys whose value differs between two objects (added, removed or changed), sorted. */
function differingKeys(reviewed, found) {
  const a = reviewed && typeof reviewed === "object" ? reviewed : {};
  const b = found && typeof found === "object" ? found : {};
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

/**
 * One finding per account and field, in the project's terms:
 *   { account, file, field, reviewed, found, why }
 * `plan` is the saved plan (JSON), for what was reviewed when the engine's message leaves it out.
 */
function describeViolations(violations, plan) {
  const findings = [];
  for (const v of violations) {
    const account = urnName(v.urn);
    const state = reviewedState(plan, v.urn);
    const file = state && typeof state.accountFile === "string" ? state.accountFile : undefined;
    const target = isAccount(v.urn) || v.urn.includes(ACCOUNT_TYPE) ? { account, file } : { account: `${account} (${v.urn.split("::").slice(-2, -1)[0]})`, file };
    if (v.kind !== "properties") {
      findings.push({ ...target, field: v.kind === "missing" ? "(the account)" : "(the step)", why: v.detail });
      continue;
    }
    for (const c of v.changes) {
      const reviewed = c.reviewedValue !== undefined ? c.reviewedValue : state ? state[c.property] : undefined;
      const found = c.actual === "removed" ? undefined : c.value;
      if (c.property === "fingerprints" || c.property === "credentials") {
        const keys = differingKeys(reviewed, found);
        const what = c.property === "fingerprints" ? "value" : "reference";
        for (const key of keys.length ? keys : ["?"]) {
          findings.push({
            ...target,
            field: `credentials.${key}`,
            reviewed: reviewed && typeof reviewed === "object" ? reviewed[key] : undefined,
            found: found && typeof found === "object" ? found[key] : undefined,
            why: `its ${what} differs from the one the reviewed preview showed (${c.expected} in the plan, ${c.actual} now)`,
          });
        }
        continue;
      }
      findings.push({ ...target, field: c.property, reviewed, found, why: `${c.expected} in the reviewed plan, ${c.actual} now` });
    }
  }
  return findings;
}

module.exports = { parseViolations, describeViolations, parseValue, parseChanges, reviewedState, urnName, ACCOUNT_TYPE };
