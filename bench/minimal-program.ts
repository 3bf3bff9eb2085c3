/**
 * The floor of measurement 6: the least a Pulumi program with one dynamic resource per account can
 * do. BENCH_MINIMAL_ACCOUNTS resources, each with one small input and a provider that does nothing.
 */
import * as pulumi from "@pulumi/pulumi";

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: String(inputs.name), outs: inputs };
  },
};

class Minimal extends pulumi.dynamic.Resource {}

const n = Number(process.env.BENCH_MINIMAL_ACCOUNTS ?? "0");
for (let i = 0; i < n; i++) new Minimal(provider, `acct${i}`, { name: `acct${i}` }, undefined, "bench", "Minimal");
