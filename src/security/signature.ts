/**
 * Signed plugins. A publisher signs a small JSON statement naming the plugin
 * and the sha256 of its manifest and of its command file; the signature lives
 * in `plugin.sig` beside `plugin.yaml`, so signing never rewrites the YAML and
 * the manifest is hashed byte for byte as it is. The host checks the statement
 * against a directory of trusted ed25519 public keys before it starts the
 * plugin, and hands the verified command digest to PluginClient's
 * secureConfig so the file it executes is the file that was checked.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  closeSync,
  constants as C,
  createReadStream,
  fstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConfinedRoot, normalizePath } from './confine.js';

export const MANIFEST_FILE = 'plugin.yaml';
export const SIGNATURE_FILE = 'plugin.sig';
/** Larger commands are refused rather than hashed. */
export const MAX_COMMAND_BYTES = 512 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_SIGNATURE_FILE_BYTES = 64 * 1024;
const MAX_PUBLIC_KEY_FILE_BYTES = 64 * 1024;
/** Prefixed to every signed statement so a key used here cannot be tricked into signing anything else. */
const SIGNING_CONTEXT = 'hst plugin signature v1\n';
const DIGEST_PREFIX = 12;
const KEY_ID = /^[0-9a-f]{16}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Base64 of exactly 64 bytes, the size of an ed25519 signature. */
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/]{86}==$/;

/** What signing and verification need from the parsed manifest. */
export interface PluginFields {
  name: string;
  version: string;
  /** The entry file, relative to the plugin directory. */
  command: string;
  /**
   * The exact plugin.yaml bytes these fields were parsed from (see
   * readManifestBytes). When given they are hashed instead of re-reading the
   * file, so the manifest that was checked is the manifest in use.
   */
  manifestBytes?: Uint8Array;
}

export interface SignatureStatement {
  v: 1;
  name: string;
  version: string;
  manifest_sha256: string;
  command: string;
  command_sha256: string;
}

/** The contents of plugin.sig. */
export interface SignatureFile {
  keyId: string;
  statement: SignatureStatement;
  /** ed25519 signature of SIGNING_CONTEXT + canonical statement JSON, base64. */
  signature: string;
}

export type SignaturePolicy = 'off' | 'warn' | 'require';
/** `skipped` is only returned under policy `off`, where nothing is read. */
export type SignatureStatus = 'valid' | 'unsigned' | 'untrusted-key' | 'tampered' | 'invalid' | 'skipped';

export interface VerifyResult {
  status: SignatureStatus;
  keyId?: string;
  /** One sentence naming the file and what is wrong with it; for logs under policy `warn`. */
  detail: string;
  /** The verified digest of the command, for PluginClient's `secureConfig.checksum`. Set only when valid. */
  commandSha256?: string;
}

/** Thrown by verifyPlugin under policy `require` for anything but a valid signature. */
export class SignatureError extends Error {
  override readonly name = 'SignatureError';
  constructor(
    readonly plugin: string,
    readonly pluginDir: string,
    readonly result: VerifyResult,
  ) {
    super(`plugin ${JSON.stringify(plugin)} (${pluginDir}) failed signature verification (${result.status}): ${result.detail}`);
  }
}

/** A plugin file that could not be read safely; verification reports it as invalid. */
class PluginFileError extends Error {
  constructor(
    path: string,
    why: string,
    /** The errno code when opening failed, so a missing file can be told apart. */
    readonly code?: string,
  ) {
    super(`${path} ${why}`);
  }
}

export interface GeneratedKey {
  keyId: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

/** First 16 hex characters of the sha256 of the key's SPKI DER encoding. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Writes `<keyId>.key` (PKCS8 PEM, 0600) and `<keyId>.pub` (SPKI PEM) into `dir`, never overwriting. */
export function keygen(dir: string): GeneratedKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(dir, `${keyId}.key`);
  const publicKeyPath = join(dir, `${keyId}.pub`);
  // Created with its final mode, so the secret is never readable by others even briefly.
  writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx', mode: 0o644 });
  return { keyId, privateKeyPath, publicKeyPath };
}

function loadPrivateKey(path: string): KeyObject {
  const key = createPrivateKey(readFileSync(path));
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${path} is a ${key.asymmetricKeyType ?? 'unknown'} key; plugin signing keys are ed25519`);
  }
  return key;
}

/** The exact bytes that are signed: fixed key order, no whitespace. */
function signedBytes(s: SignatureStatement): Buffer {
  const canonical = JSON.stringify({
    v: s.v,
    name: s.name,
    version: s.version,
    manifest_sha256: s.manifest_sha256,
    command: s.command,
    command_sha256: s.command_sha256,
  });
  return Buffer.from(SIGNING_CONTEXT + canonical, 'utf8');
}

/** The command as one clean relative path; absolute paths and `..` are refused. */
function commandPath(command: string): string {
  try {
    const segments = normalizePath(command);
    if (segments.length === 0) throw new Error('names the plugin directory itself');
    return segments.join('/');
  } catch (err) {
    throw new PluginFileError(JSON.stringify(command), `is not a usable command path: ${(err as Error).message}`);
  }
}

function describeOpenError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'ELOOP') return 'is a symbolic link; it must be a regular file inside the plugin directory';
  return `cannot be opened: ${(err as Error).message}`;
}

/**
 * Opens a regular file inside the plugin directory, never through a final
 * symlink and never outside the directory, and checks its size on the open fd.
 */
function openRegular(root: ConfinedRoot, path: string, maxBytes: number): { fd: number; size: number } {
  let fd: number;
  try {
    fd = root.open(path, C.O_RDONLY, 0, false).fd;
  } catch (err) {
    throw new PluginFileError(path, describeOpenError(err), (err as NodeJS.ErrnoException).code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new PluginFileError(path, 'is not a regular file');
    if (st.size > maxBytes) throw new PluginFileError(path, `is ${st.size} bytes, over the ${maxBytes}-byte limit`);
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

async function sha256Of(root: ConfinedRoot, path: string, maxBytes: number): Promise<string> {
  const { fd } = openRegular(root, path, maxBytes);
  try {
    const hash = createHash('sha256');
    let total = 0;
    // Reads one byte past the cap, so a file that grew after fstat is caught too.
    for await (const chunk of createReadStream('', { fd, autoClose: false, start: 0, end: maxBytes })) {
      total += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    if (total > maxBytes) throw new PluginFileError(path, `grew past the ${maxBytes}-byte limit while being read`);
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function readSmall(root: ConfinedRoot, path: string, maxBytes: number): Buffer {
  const { fd, size } = openRegular(root, path, maxBytes);
  try {
    // One byte more than fstat reported, so a file that grew since is caught.
    const buf = Buffer.alloc(size + 1);
    let length = 0;
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, length);
      if (n === 0) break;
      length += n;
    }
    if (length > size) throw new PluginFileError(path, 'changed size while being read');
    return buf.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

function manifestSha256(root: ConfinedRoot, fields: PluginFields): Promise<string> {
  if (fields.manifestBytes) return Promise.resolve(createHash('sha256').update(fields.manifestBytes).digest('hex'));
  return sha256Of(root, MANIFEST_FILE, MAX_MANIFEST_BYTES);
}

/**
 * plugin.yaml read the same guarded way as for hashing. Parse these bytes and
 * pass them back as `manifestBytes`, and no swap of the file between parsing
 * and verifying can go unnoticed.
 */
export async function readManifestBytes(pluginDir: string): Promise<Buffer> {
  return withRoot(pluginDir, async (root) => readSmall(root, MANIFEST_FILE, MAX_MANIFEST_BYTES));
}

function withRoot<T>(pluginDir: string, fn: (root: ConfinedRoot) => Promise<T>): Promise<T> {
  let root: ConfinedRoot;
  try {
    // Reading what a publisher shipped: a hard link (a package store's) changes nothing the digest covers.
    root = new ConfinedRoot(pluginDir, undefined, { allowHardLinks: true });
  } catch (err) {
    return Promise.reject(new PluginFileError(pluginDir, describeOpenError(err)));
  }
  return fn(root).finally(() => root.close());
}

export interface SignResult {
  keyId: string;
  signaturePath: string;
  statement: SignatureStatement;
}

/** Hashes plugin.yaml and the command, signs the statement with the key at `privateKeyPath`, writes plugin.sig. */
export async function signPlugin(pluginDir: string, privateKeyPath: string, fields: PluginFields): Promise<SignResult> {
  const key = loadPrivateKey(privateKeyPath);
  const command = commandPath(fields.command);
  const statement = await withRoot(pluginDir, async (root): Promise<SignatureStatement> => ({
    v: 1,
    name: fields.name,
    version: fields.version,
    manifest_sha256: await manifestSha256(root, fields),
    command,
    command_sha256: await sha256Of(root, command, MAX_COMMAND_BYTES),
  }));
  const keyId = keyIdOf(key);
  const file: SignatureFile = { keyId, statement, signature: sign(null, signedBytes(statement), key).toString('base64') };
  const signaturePath = join(pluginDir, SIGNATURE_FILE);
  // Written aside and renamed: a reader never sees half a file, and a symlink at plugin.sig is replaced, not followed.
  const temporary = `${signaturePath}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
    renameSync(temporary, signaturePath);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  return { keyId, signaturePath, statement };
}

/** Checks the shape of plugin.sig; returns why it is unusable, or the parsed file. */
function parseSignatureFile(bytes: Buffer): SignatureFile | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return `${SIGNATURE_FILE} is not valid JSON`;
  }
  if (!isRecord(parsed) || !sameKeys(parsed, ['keyId', 'statement', 'signature'])) {
    return `${SIGNATURE_FILE} must be an object with exactly keyId, statement and signature`;
  }
  const { keyId, statement, signature } = parsed;
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) return `${SIGNATURE_FILE} keyId must be 16 lowercase hex characters`;
  if (typeof signature !== 'string' || !SIGNATURE_BASE64.test(signature)) {
    return `${SIGNATURE_FILE} signature must be a base64 ed25519 signature (64 bytes)`;
  }
  if (
    !isRecord(statement) ||
    !sameKeys(statement, ['v', 'name', 'version', 'manifest_sha256', 'command', 'command_sha256']) ||
    statement.v !== 1 ||
    typeof statement.name !== 'string' ||
    typeof statement.version !== 'string' ||
    typeof statement.command !== 'string' ||
    typeof statement.manifest_sha256 !== 'string' ||
    !SHA256_HEX.test(statement.manifest_sha256) ||
    typeof statement.command_sha256 !== 'string' ||
    !SHA256_HEX.test(statement.command_sha256)
  ) {
    return `${SIGNATURE_FILE} statement is not a version 1 statement (v, name, version, manifest_sha256, command, command_sha256)`;
  }
  return { keyId, signature, statement: statement as unknown as SignatureStatement };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameKeys(value: Record<string, unknown>, keys: string[]): boolean {
  const actual = Object.keys(value);
  return actual.length === keys.length && keys.every((k) => Object.hasOwn(value, k));
}

/**
 * The trusted key with this id, looked up by the id of each key's content
 * rather than by file name, so `.pub` files may be named anything.
 */
function findTrustedKey(trustedKeysDir: string, keyId: string): KeyObject | string {
  let names: string[];
  try {
    names = readdirSync(trustedKeysDir).filter((n) => n.endsWith('.pub'));
  } catch (err) {
    return `trusted keys directory ${trustedKeysDir} cannot be read: ${(err as Error).message}`;
  }
  const unreadable: string[] = [];
  for (const name of names.sort()) {
    try {
      const bytes = readFileSync(join(trustedKeysDir, name));
      if (bytes.length > MAX_PUBLIC_KEY_FILE_BYTES) throw new Error('too large');
      const key = createPublicKey(bytes);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
      if (keyIdOf(key) === keyId) return key;
    } catch {
      unreadable.push(name);
    }
  }
  const skipped = unreadable.length > 0 ? ` (skipped unusable key files: ${unreadable.join(', ')})` : '';
  return `key ${keyId} is not among the ${names.length - unreadable.length} trusted keys in ${trustedKeysDir}${skipped}`;
}

function digestMismatch(what: string, expected: string, actual: string): string {
  return (
    `${what} changed since it was signed: sha256 expected ${expected.slice(0, DIGEST_PREFIX)}…, ` +
    `actual ${actual.slice(0, DIGEST_PREFIX)}…`
  );
}

async function check(pluginDir: string, trustedKeysDir: string, fields: PluginFields): Promise<VerifyResult> {
  return withRoot(pluginDir, async (root): Promise<VerifyResult> => {
    let bytes: Buffer;
    try {
      bytes = readSmall(root, SIGNATURE_FILE, MAX_SIGNATURE_FILE_BYTES);
    } catch (err) {
      if (err instanceof PluginFileError && err.code === 'ENOENT') {
        return { status: 'unsigned', detail: `no ${SIGNATURE_FILE} in ${pluginDir}` };
      }
      throw err;
    }
    const file = parseSignatureFile(bytes);
    if (typeof file === 'string') return { status: 'invalid', detail: file };
    const { keyId, statement } = file;

    const key = findTrustedKey(trustedKeysDir, keyId);
    if (typeof key === 'string') return { status: 'untrusted-key', keyId, detail: key };
    if (!verify(null, signedBytes(statement), key, Buffer.from(file.signature, 'base64'))) {
      return { status: 'invalid', keyId, detail: `${SIGNATURE_FILE} signature does not match its statement for key ${keyId}` };
    }

    // From here the statement is the publisher's word; compare the files with it.
    const actualManifest = await manifestSha256(root, fields);
    if (actualManifest !== statement.manifest_sha256) {
      return { status: 'tampered', keyId, detail: digestMismatch(MANIFEST_FILE, statement.manifest_sha256, actualManifest) };
    }
    const command = commandPath(fields.command);
    const signedFor = `${statement.name}@${statement.version} with command ${JSON.stringify(statement.command)}`;
    const manifestSays = `${fields.name}@${fields.version} with command ${JSON.stringify(command)}`;
    if (statement.name !== fields.name || statement.version !== fields.version || statement.command !== command) {
      return { status: 'invalid', keyId, detail: `${SIGNATURE_FILE} was signed for ${signedFor} but the manifest says ${manifestSays}` };
    }
    const commandSha256 = await sha256Of(root, command, MAX_COMMAND_BYTES);
    if (commandSha256 !== statement.command_sha256) {
      return { status: 'tampered', keyId, detail: digestMismatch(`command ${command}`, statement.command_sha256, commandSha256) };
    }
    return { status: 'valid', keyId, detail: `signed by key ${keyId}`, commandSha256 };
  }).catch((err: unknown): VerifyResult => {
    if (err instanceof PluginFileError) return { status: 'invalid', detail: err.message };
    throw err;
  });
}

/**
 * Verifies plugin.sig in `pluginDir` against the `.pub` keys in
 * `trustedKeysDir`. `fields` come from the already-parsed plugin.yaml.
 * Policy `off` reads nothing; `warn` returns the result for the caller to
 * log; `require` throws SignatureError unless the signature is valid.
 */
export async function verifyPlugin(
  pluginDir: string,
  trustedKeysDir: string,
  fields: PluginFields,
  policy: SignaturePolicy,
): Promise<VerifyResult> {
  if (policy === 'off') return { status: 'skipped', detail: 'signature policy is off' };
  const result = await check(pluginDir, trustedKeysDir, fields);
  if (policy === 'require' && result.status !== 'valid') throw new SignatureError(fields.name, pluginDir, result);
  return result;
}
