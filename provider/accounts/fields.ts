/**
 * Vocabulary of the Composio connected-accounts API that the account file depends on.
 * Kept in one place so the schema, the validator and the sandbox agree.
 */

/** Every auth scheme Composio knows. */
export const AUTH_SCHEMES = [
  "OAUTH2", "OAUTH1", "API_KEY", "BASIC", "BILLCOM_AUTH", "BEARER_TOKEN", "GOOGLE_SERVICE_ACCOUNT",
  "NO_AUTH", "BASIC_WITH_JWT", "CALCOM_AUTH", "SERVICE_ACCOUNT", "SAML", "DCR_OAUTH", "S2S_OAUTH2",
] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

/** The schemes whose credentials PATCH accepts; any other scheme may only have its alias managed. */
export const PATCHABLE_SCHEMES: readonly AuthScheme[] = [
  "BEARER_TOKEN", "API_KEY", "BASIC", "BASIC_WITH_JWT", "GOOGLE_SERVICE_ACCOUNT", "SERVICE_ACCOUNT",
];

/**
 * Credential fields that are configuration, not secrets: they may be written as literals in YAML.
 * Every other field (known or not) must be a reference, so a token can never be committed by accident.
 */
export const NON_SECRET_FIELDS: readonly string[] = [
  "subdomain", "your-domain", "region", "shop", "account_url", "COMPANYDOMAIN", "extension",
  "form_api_base_url", "instanceEndpoint", "api_url", "borneo_dashboard_url", "domain", "version", "dc",
  "site_name", "instanceName", "account_id", "your_server", "server_location", "base_url", "application_id",
  "installation_id", "username", "proxy_username",
];

export function isNonSecretField(key: string): boolean {
  return NON_SECRET_FIELDS.includes(key);
}

/**
 * Composio keeps the scheme an account was connected with: the words `pulumi preview` refuses a
 * scheme change with, and `plan` flags it with before review.
 */
export function authSchemeChangeRefused(id: string, from: string, to: string): { message: string; fix: string } {
  return {
    message: `connected account ${id}: authScheme cannot change from ${from} to ${to}; Composio keeps the scheme an account was connected with`,
    fix: "put back the recorded scheme, or connect a new account with the new scheme and point the file at its id",
  };
}
