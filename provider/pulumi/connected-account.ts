import * as pulumi from "@pulumi/pulumi";
import type { RegisteredAccount } from "../plan/account-state";
import { PREVIEW_INPUT } from "./preview-input";
import { PROVIDER_MODULE } from "./provider-module";

export type ConnectedAccountArgs = { [K in keyof RegisteredAccount]: pulumi.Input<RegisteredAccount[K]> };

/**
 * One Composio connected account under management: `pulumi-nodejs:dynamic/composio:ConnectedAccount`.
 * A dynamic resource, registered as `pulumi.dynamic.Resource` registers one (same type, a
 * `__provider` input), with a provider module of a few lines in place of the serialized provider.
 */
export class ConnectedAccount extends pulumi.CustomResource {
  declare readonly nanoid: pulumi.Output<string>;
  declare readonly alias: pulumi.Output<string | undefined>;
  declare readonly status: pulumi.Output<string | undefined>;

  constructor(name: string, args: ConnectedAccountArgs, opts?: pulumi.CustomResourceOptions) {
    // The SDK makes an Output (four promises) for every property named here, so only `status` is
    // named beyond the inputs, for the fleet summary; the fingerprints Check returns are recorded
    // all the same.
    super("pulumi-nodejs:dynamic/composio:ConnectedAccount", name, { ...args, status: undefined, __provider: PROVIDER_MODULE, [PREVIEW_INPUT]: pulumi.runtime.isDryRun() }, opts);
  }
}
