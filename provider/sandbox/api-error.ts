import { randomBytes } from "node:crypto";

/**
 * An error the sandbox answers in Composio's envelope. Connected-account slugs use codes 600-699 as
 * Composio's do; the numbers themselves are the sandbox's own (Composio does not publish its table),
 * so clients must branch on `slug` and HTTP status, never on `code`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly code: number,
    message: string,
    readonly suggestedFix?: string,
    readonly errors: string[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function envelope(err: ApiError, requestId: string): { error: Record<string, unknown> } {
  return {
    error: {
      message: err.message,
      code: err.code,
      slug: err.slug,
      status: err.status,
      request_id: requestId,
      ...(err.suggestedFix ? { suggested_fix: err.suggestedFix } : {}),
      ...(err.errors.length > 0 ? { errors: err.errors } : {}),
    },
  };
}

export function newRequestId(): string {
  return `req_${randomBytes(12).toString("base64url")}`;
}

export const unauthorized = (message: string, fix: string) => new ApiError(401, "Unauthorized", 101, message, fix);

export const routeNotFound = (method: string, path: string) =>
  new ApiError(404, "NotFound", 102, `No route for ${method} ${path}`, "the sandbox serves /api/v3/connected_accounts and /api/v3.1/connected_accounts");

export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]) =>
  new ApiError(405, "MethodNotAllowed", 103, `${method} is not supported on ${path}`, `use ${allowed.join(" or ")}`);

export const payloadTooLarge = (limit: number) =>
  new ApiError(413, "PayloadTooLarge", 104, `Request body is larger than ${limit} bytes`, "send only the fields that change");

export const internalError = (message: string) => new ApiError(500, "InternalServerError", 105, message);

export const badRequest = (message: string, suggestedFix?: string, errors: string[] = []) =>
  new ApiError(400, "ConnectedAccount_BadRequest", 600, message, suggestedFix, errors);

export const accountNotFound = (id: string) =>
  new ApiError(404, "ConnectedAccount_NotFound", 601, `Connected account ${id} not found`, "check the connected account id; it may have been deleted");

export const duplicateAlias = (alias: string) =>
  new ApiError(409, "ConnectedAccount_DuplicateAlias", 609, `Alias "${alias}" is already in use by another connection for this entity`,
    "choose another alias, or clear the alias of the other connected account of this user and toolkit first");
