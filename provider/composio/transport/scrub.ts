/**
 * Keeps secrets out of what the API says back. An API that echoes a request may quote a secret raw,
 * JSON-escaped (servers differ: Go writes `<`, `>`, `&` as `\u003c`, Python writes non-ASCII as
 * `\uXXXX`), URL-encoded, base64-encoded inside a longer blob, or only its first characters
 * ("invalid key sk_live_4f…"). Every such form is replaced; a text still holding a secret once
 * decoded, or holding a secret too short to replace safely, is withheld as a whole.
 */

/** Shown instead of a secret. */
export const SECRET_MARK = "[secret]";
/** Shown instead of a whole text that still quotes a secret in a form we could not cut out. */
export const WITHHELD = "[withheld: it quotes a secret]";
/** Shorter secrets would match ordinary words: a text quoting one as a token is withheld instead. */
export const MIN_REPLACED_LENGTH = 4;
/** A quoted prefix this long of a longer secret is replaced too (prefixes are how keys are quoted back). */
const MIN_PREFIX_LENGTH = 8;

export function scrub(text: string, secrets: readonly string[]): string {
  const distinct = [...new Set(secrets.filter((s) => s !== ""))];
  const forms = distinct.filter((s) => s.length >= MIN_REPLACED_LENGTH).flatMap(secretForms);
  // Whole base64 tokens first: cutting an encoded form out of one would leave the rest of it behind.
  let out = replaceBase64Quotes(text, distinct);
  for (const form of [...new Set(forms)].sort((a, b) => b.length - a.length)) out = out.split(form).join(SECRET_MARK);
  for (const secret of distinct) if (secret.length > MIN_PREFIX_LENGTH) out = replacePrefixes(out, secret);
  return stillQuotes(out, distinct) ? WITHHELD : out;
}

/** A run of base64 (standard or URL alphabet) standing on its own, with its padding. */
const BASE64_TOKEN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{2,}={0,2}(?![A-Za-z0-9+/_=-])/g;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Base64 runs that decode to text quoting a secret, replaced whole. This is how a short secret is
 * caught once encoded (`q7Z` comes back as `cTda`): its encoded forms are as short as ordinary
 * words, so they are never searched for as substrings (`cTda` may well be part of an id). A run is
 * decoded instead, and replaced only when it is a whole token, decodes to valid UTF-8 text without
 * control characters (English words and ids decode to binary noise, nearly always invalid), and that
 * text quotes the secret: a short secret as a whole token of it (the rule plain text follows), a
 * longer one anywhere. A short secret inside binary data that is not text is not found this way.
 */
function replaceBase64Quotes(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return text;
  return text.replace(BASE64_TOKEN, (token) => {
    const decoded = decodeBase64Text(token);
    if (decoded === undefined) return token;
    const quoted = secrets.some((s) => (s.length < MIN_REPLACED_LENGTH ? quotesToken(decoded, s) : decoded.includes(s)));
    return quoted ? SECRET_MARK : token;
  });
}

function decodeBase64Text(token: string): string | undefined {
  const bare = token.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (bare.length % 4 === 1) return undefined;
  let text: string;
  try {
    text = UTF8.decode(Buffer.from(bare, "base64"));
  } catch {
    return undefined;
  }
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

/** The forms in which a secret can be quoted back, each long enough to be replaced without harm. */
export function secretForms(secret: string): string[] {
  const forms = [secret, ...jsonForms(secret), ...urlForms(secret), ...base64Cores(secret)];
  return forms.filter((f) => f.length >= MIN_REPLACED_LENGTH);
}

function jsonForms(s: string): string[] {
  const plain = JSON.stringify(s).slice(1, -1);
  const escape = (pick: (c: string) => boolean, upper: boolean) =>
    [...plain]
      .map((c) => {
        if (!pick(c)) return c;
        const units = c.length === 1 ? [c] : [c[0], c[1]]; // astral characters as surrogate pairs
        return units.map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`).map((e) => (upper ? e.toUpperCase().replace("\\U", "\\u") : e)).join("");
      })
      .join("");
  const nonAscii = (c: string) => c.codePointAt(0)! > 0x7e;
  const html = (c: string) => c === "<" || c === ">" || c === "&" || c === "'";
  const out = [plain, plain.replace(/\//g, "\\/")];
  for (const upper of [false, true]) out.push(escape(nonAscii, upper), escape(html, upper), escape((c) => nonAscii(c) || html(c), upper));
  return out;
}

function urlForms(s: string): string[] {
  const component = encodeURIComponent(s);
  // RFC 3986 strict (Go's QueryEscape, Python's quote): also !'()*.
  const strict = component.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const out: string[] = [];
  for (const f of [component, strict]) {
    for (const g of [f, f.replace(/%20/g, "+")]) out.push(g, g.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  }
  return out;
}

/**
 * What every base64 text containing the secret's bytes contains, whatever the offset: the secret
 * encoded at each of the three byte alignments, minus the characters shared with neighbouring bytes.
 */
function base64Cores(s: string): string[] {
  const bytes = Buffer.from(s, "utf8");
  const out: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64").replace(/=+$/, "");
    const skip = [0, 2, 3][offset];
    const end = (offset + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 1;
    const core = encoded.slice(skip, end);
    out.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out;
}

/** Replaces every run that starts like the secret for at least MIN_PREFIX_LENGTH characters. */
function replacePrefixes(text: string, secret: string): string {
  const head = secret.slice(0, MIN_PREFIX_LENGTH);
  let out = "";
  let from = 0;
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, from)) {
    let end = at + head.length;
    while (end < text.length && end - at < secret.length && text[end] === secret[end - at]) end++;
    out += text.slice(from, at) + SECRET_MARK;
    from = end;
  }
  return out + text.slice(from);
}

/**
 * True when the text still quotes a secret: a short one as a whole token, or any one once JSON
 * escapes, percent-encoding and `+` are decoded (forms no list of encodings foresees).
 */
function stillQuotes(text: string, secrets: readonly string[]): boolean {
  const decoded = decodeLoosely(text);
  return secrets.some((s) =>
    s.length < MIN_REPLACED_LENGTH ? [text, decoded].some((t) => quotesToken(t, s)) : decoded.includes(s) || text.includes(s),
  );
}

function quotesToken(text: string, secret: string): boolean {
  for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
    const before = text[at - 1];
    const after = text[at + secret.length];
    if (!isWordChar(before) && !isWordChar(after)) return true;
  }
  return false;
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}_]/u.test(c);
}

function decodeLoosely(text: string): string {
  const unescaped = text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\(["\\/])/g, "$1")
    .replace(/\\n/g, "\n")
    .replace(/\\r/g, "\r")
    .replace(/\\t/g, "\t");
  const plus = unescaped.replace(/\+/g, " ");
  return `${unescaped}\n${percentDecode(unescaped)}\n${percentDecode(plus)}`;
}

/** Decodes valid %XX sequences (UTF-8), leaving anything malformed as it is. */
function percentDecode(text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** A base URL as shown in messages: `https://user:pass@host` becomes `https://***@host`. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1***@");
}

/** The user name and password a base URL carries, decoded: secrets like any other. */
export function urlCredentials(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url);
  if (!m) return [];
  return m[1].split(":").flatMap((part) => {
    try {
      return [part, decodeURIComponent(part)];
    } catch {
      return [part];
    }
  });
}
