import * as pulumi from "@pulumi/pulumi";
import type { DesiredAccount } from "../plan/account-state";
import { PREVIEW_INPUT } from "./preview-input";
import { PROVIDER_MODULE } from "./provider-module";

export type ConnectedAccountArgs = { [K in keyof DesiredAccount]: pulumi.Input<DesiredAccount[K]> };

/**
 * One Composio connected account under management: `pulumi-nodejs:dynamic/composio:ConnectedAccount`.
 * A dynamic resource, registered as `pulumi.dynamic.Resource` registers one (same type, a
 * `__provider` input), with a provider module of a few lines in place of the serialized provider.
 */
export class ConnectedAccount extends pulumi.CustomResource {
  declare readonly nanoid: pulumi.Output<string>;
  declare readonly alias: pulumi.Output<string | undefined>;
  declare readonly status: pulumi.Output<string | undefined>;
  declare readonly fingerprints: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ConnectedAccountArgs, opts?: pulumi.CustomResourceOptions) {
    super("pulumi-nodejs:dynamic/composio:ConnectedAccount", name, { ...args, status: undefined, __provider: PROVIDER_MODULE, [PREVIEW_INPUT]: pulumi.runtime.isDryRun() }, opts);
  }
}
