/**
 * Decrypting a SOPS file with the official `sops` binary, in the provider process only: `sops
 * --decrypt --output-type json FILE`, whose stdout is parsed and kept in memory, never written.
 * sops's own stderr is never shown: a MAC mismatch prints MACs computed from the plaintext, and
 * other messages may quote the document. Its exit code says what went wrong; the words are ours.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LIMITS } from "../settings";
import type { SopsTextProblem } from "./sops-document";
import type { KeyService } from "./sops-key-services";

/** Exit codes of the sops binary (cmd/sops/codes). */
const EXIT = {
  couldNotReadInputFile: 2,
  errorDecryptingMac: 24,
  errorDecryptingTree: 25,
  macMismatch: 51,
  macNotFound: 52,
  couldNotRetrieveKey: 128,
} as const;

/** sops's own messages are only looked at for the age cause; more than this is not kept. */
const MAX_STDERR_BYTES = 64 * 1024;

export interface DecryptRequest {
  /** Absolute path of the file. */
  file: string;
  /** The file as the account file names it, for messages. */
  ref: string;
  /** Who the file is encrypted for, from its metadata (public identifiers). */
  recipients: readonly string[];
  /** The key services besides age it names, every one approved by the repository. */
  keyServices: readonly KeyService[];
  env: Record<string, string | undefined>;
  /** The `sops` command; default: `sops` on PATH. */
  command?: string;
  /** Default: LIMITS.sopsDecryptTimeoutMs. */
  timeoutMs?: number;
}

/** Why a file could not be decrypted; `keyUnavailable` when no key here could open it (sops exit 128), and whether one was tried. */
export type DecryptProblem = SopsTextProblem & { keyUnavailable?: "no key" | "wrong key" | "unknown" };

/** Variables every decryption may use: where sops is found, and the age key sources (local). */
const ALWAYS = ["PATH", "TMPDIR", "LANG", "LC_ALL", "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_CMD"];
/** What each key service's client reads from the environment (its credentials, endpoints, CA files). */
const SERVICE_ENV: Record<string, RegExp> = {
  "AWS KMS": /^AWS_/,
  "GCP KMS": /^(GOOGLE_|CLOUDSDK_|GCE_METADATA_)/,
  "Azure Key Vault": /^(AZURE_|IDENTITY_ENDPOINT$|IDENTITY_HEADER$|MSI_ENDPOINT$|MSI_SECRET$)/,
  "Vault transit": /^VAULT_/,
  "HuaweiCloud KMS": /^HUAWEICLOUD_/,
  PGP: /^(GNUPGHOME$|SOPS_GPG_EXEC$|GPG_AGENT_INFO$|GPG_TTY$)/,
};
/** A service reached over the network also honours the usual proxy and CA settings. */
const NETWORK_ENV = /^(HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy|SSL_CERT_FILE|SSL_CERT_DIR)$/;

let emptyHome: string | undefined;

/**
 * The environment sops runs with: only what decrypting this file needs. Age key variables always;
 * a service's variables (VAULT_TOKEN, AWS_*, …) and the real HOME (~/.vault-token, ~/.aws, gcloud's
 * and gpg's folders) only when the file names an approved service of that kind. Otherwise HOME is
 * an empty folder of this process's own, so no token file there is read; the default age key file
 * and SSH keys are passed by name instead. SOPS_KEYSERVICE and SOPS_CONFIG are never passed: no
 * remote key service, no other configuration.
 */
export function decryptionEnv(env: Record<string, string | undefined>, keyServices: readonly KeyService[], recipients: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const kinds = new Set(keyServices.map((s) => s.kind));
  const wanted = (name: string) =>
    ALWAYS.includes(name) || [...kinds].some((k) => SERVICE_ENV[k]?.test(name)) || ([...kinds].some((k) => k !== "PGP") && NETWORK_ENV.test(name));
  for (const [name, value] of Object.entries(env)) if (value !== undefined && wanted(name)) out[name] = value;
  const home = env.HOME ?? "";
  if (kinds.size > 0 && home) {
    out.HOME = home;
    if (env.XDG_CONFIG_HOME) out.XDG_CONFIG_HOME = env.XDG_CONFIG_HOME;
  } else {
    out.HOME = (emptyHome ??= fs.mkdtempSync(path.join(os.tmpdir(), "sops-home-")));
    // The age key files sops would find under the real HOME, named explicitly.
    const config = env.XDG_CONFIG_HOME || (process.platform === "darwin" ? path.join(home, "Library/Application Support") : path.join(home, ".config"));
    if (home && fs.existsSync(path.join(config, "sops/age/keys.txt"))) out.XDG_CONFIG_HOME = config;
    const ssh = recipients.some((r) => r.startsWith("age ssh-ed25519")) ? "id_ed25519" : recipients.some((r) => r.startsWith("age ssh-rsa")) ? "id_rsa" : "";
    if (home && ssh && !out.SOPS_AGE_SSH_PRIVATE_KEY_FILE && fs.existsSync(path.join(home, ".ssh", ssh))) out.SOPS_AGE_SSH_PRIVATE_KEY_FILE = path.join(home, ".ssh", ssh);
  }
  out.SOPS_DISABLE_VERSION_CHECK = "1";
  return out;
}

/**
 * The decrypted document (JSON data), or why it could not be had. Asynchronous: the provider keeps
 * serving (and watching the engine) while sops waits on a key service; bounded in time (the process
 * is killed at the limit) and in output.
 */
export function decryptSopsFile(req: DecryptRequest): Promise<{ data: unknown } | DecryptProblem> {
  const timeoutMs = req.timeoutMs ?? LIMITS.sopsDecryptTimeoutMs;
  // Only the local key service: never one named by SOPS_KEYSERVICE or a flag.
  const args = ["--enable-local-keyservice=true", "--decrypt", "--output-type", "json", req.file];
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: { data: unknown } | DecryptProblem) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let overflow = false;
    let timedOut = false;
    const child = spawn(req.command ?? "sops", args, { env: decryptionEnv(req.env, req.keyServices, req.recipients), stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      // The plaintext is smaller than the stored file, which is bounded.
      if (outBytes > LIMITS.maxSopsFileBytes) {
        overflow = true;
        child.kill("SIGKILL");
      } else stdout.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (errBytes < MAX_STDERR_BYTES) stderr.push(chunk);
      errBytes += chunk.length;
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") done(missingBinary(req.ref));
      else done({ message: `sops could not be started to decrypt ${req.ref} (${error.code ?? "error"})`, fix: "check that the sops on PATH is an executable (which sops)" });
    });
    child.on("close", (status, signal) => {
      if (timedOut) {
        done({ message: `sops did not finish decrypting ${req.ref} within ${timeoutMs / 1000} s`, fix: "check that the key service the file is encrypted for (KMS, Vault) answers from this machine" });
      } else if (overflow) {
        done({ message: `sops printed more than ${LIMITS.maxSopsFileBytes} bytes decrypting ${req.ref}`, fix: "split the file: a SOPS file of credentials is well under a megabyte" });
      } else if (status !== 0) {
        done(failure(req, status, signal, Buffer.concat(stderr).toString("utf8")));
      } else {
        try {
          done({ data: JSON.parse(Buffer.concat(stdout).toString("utf8")) });
        } catch {
          done({ message: `sops decrypted ${req.ref} but its output is not JSON`, fix: "use the official sops binary (https://github.com/getsops/sops/releases), version 3.9 or newer" });
        }
      }
    });
  });
}

function missingBinary(ref: string): SopsTextProblem {
  return {
    message: `the sops command is not installed here (no sops on PATH), and ${ref} needs it to be decrypted`,
    fix: "install sops (https://github.com/getsops/sops/releases; brew install sops; or go install github.com/getsops/sops/v3/cmd/sops@v3.13.3) on the machine that runs pulumi, then run it again",
  };
}

/**
 * What sops's stderr says about the age keys it tried, in our words: which of the two usual causes
 * it was. The stderr itself is never passed on.
 */
function ageKeyCause(stderr: string): string {
  if (/did not match any of the recipients|incorrect identity/.test(stderr)) return "the age key set here is not one the file is encrypted for";
  if (/failed to load age identities|Did not find keys/.test(stderr)) return "no age key is set here";
  return "";
}

function failure(req: DecryptRequest, status: number | null, signal: NodeJS.Signals | null, stderr: string): DecryptProblem {
  const { ref } = req;
  switch (status) {
    case EXIT.macMismatch:
    case EXIT.errorDecryptingMac:
    case EXIT.errorDecryptingTree:
      return {
        message: `SOPS file ${ref} fails its integrity check (MAC mismatch): it was changed without sops (edited by hand, merged line by line, or tampered with)`,
        fix: `restore it from a trusted revision (git log -p -- ${ref}), and make changes only with sops edit ${ref} or sops set`,
      };
    case EXIT.macNotFound:
      return { message: `SOPS file ${ref} has no MAC, so nothing shows whether it was tampered with`, fix: `re-encrypt it with sops edit ${ref} from a trusted copy` };
    case EXIT.couldNotRetrieveKey: {
      const cause = req.recipients.some((r) => r.startsWith("age ")) ? ageKeyCause(stderr) : "";
      return {
        keyUnavailable: cause === "" ? "unknown" : cause.startsWith("no age key") ? "no key" : "wrong key",
        message: `no key available here can decrypt SOPS file ${ref}${cause ? `: ${cause}` : ""} (it is encrypted for ${req.recipients.length > 0 ? req.recipients.join(", ") : "no key sops could name"})`,
        fix: req.recipients.some((r) => r.startsWith("age "))
          ? "set SOPS_AGE_KEY (or SOPS_AGE_KEY_FILE) to the age identity of one of those recipients (in CI: the SOPS_AGE_KEY secret), or give this machine access to one of the other keys"
          : "give this machine access to one of those keys (cloud credentials for KMS, VAULT_ADDR and VAULT_TOKEN for Vault, the PGP secret key)",
      };
    }
    case EXIT.couldNotReadInputFile:
      return { message: `sops could not read ${ref} as a SOPS file`, fix: `check that it is a complete SOPS file (git diff -- ${ref}); restore it from git if it was cut or merged by hand` };
    default:
      return {
        message: `sops failed to decrypt ${ref} (${status === null ? `killed by ${signal}` : `exit code ${status}`}); its own message is not shown because it can quote the file's values`,
        fix: `run sops --decrypt ${ref} > /dev/null on a trusted machine to see it`,
      };
  }
}
