/**
 * Signed plugins. A publisher signs a JSON statement naming the plugin and
 * the sha256 of every file in its directory (its manifest and command among
 * them, and every module, package or data file it may load), and every
 * symbolic link's target; the signature lives in `plugin.sig` beside
 * `plugin.yaml`, so signing never rewrites the YAML and the manifest is
 * hashed byte for byte as it is. The host checks the statement against a
 * directory of trusted ed25519 public keys before every start. Asked to, it
 * copies the directory while hashing it (`copyTo`), so the plugin runs from
 * exactly the bytes that were checked (the sandbox mounts the copy where the
 * directory was), and hands the verified command digest to PluginClient's
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
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConfinedRoot, normalizePath } from './confine.js';
import { makeDirs } from '../util/make-dirs.js';

export const MANIFEST_FILE = 'plugin.yaml';
export const SIGNATURE_FILE = 'plugin.sig';
/** Larger commands are refused rather than hashed. */
export const MAX_COMMAND_BYTES = 512 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Room for the digest of every file a plugin directory may hold. */
const MAX_SIGNATURE_FILE_BYTES = 4 * 1024 * 1024;
/** More entries than this in a plugin directory are refused rather than signed or checked. */
export const MAX_PLUGIN_FILES = 20_000;
/** A symbolic link's entry in `files`: its target, not a digest. */
const LINK_PREFIX = 'link:';
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
  v: 2;
  name: string;
  version: string;
  manifest_sha256: string;
  command: string;
  command_sha256: string;
  /** Every entry of the plugin directory but plugin.sig, by relative path: a file's sha256, or `link:<target>`. */
  files: Record<string, string>;
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
  /** With `copyTo` and a valid signature: the copy made of exactly the bytes that were verified. */
  verifiedCopy?: string;
}

export interface VerifyOptions {
  /**
   * Copy the plugin directory here while hashing it (the directory is
   * emptied first); VerifyResult.verifiedCopy names it when it checks out.
   */
  copyTo?: string;
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
  makeDirs(dir, 0o700);
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

/** The exact bytes that are signed: fixed key order, files sorted, no whitespace. */
function signedBytes(s: SignatureStatement): Buffer {
  const canonical = JSON.stringify({
    v: s.v,
    name: s.name,
    version: s.version,
    manifest_sha256: s.manifest_sha256,
    command: s.command,
    command_sha256: s.command_sha256,
    files: Object.fromEntries(Object.keys(s.files).sort().map((path) => [path, s.files[path]])),
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

/** The sha256 of a file inside the root; with `copy`, the very bytes hashed are also written there. */
async function sha256Of(root: ConfinedRoot, path: string, maxBytes: number, copy?: string): Promise<string> {
  const { fd } = openRegular(root, path, maxBytes);
  const out = copy === undefined ? undefined : openSync(copy, 'wx', fstatSync(fd).mode & 0o555);
  try {
    const hash = createHash('sha256');
    let total = 0;
    // Reads one byte past the cap, so a file that grew after fstat is caught too.
    for await (const chunk of createReadStream('', { fd, autoClose: false, start: 0, end: maxBytes })) {
      total += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
      if (out !== undefined) writeSync(out, chunk as Buffer);
    }
    if (total > maxBytes) throw new PluginFileError(path, `grew past the ${maxBytes}-byte limit while being read`);
    return hash.digest('hex');
  } finally {
    closeSync(fd);
    if (out !== undefined) closeSync(out);
  }
}

/**
 * Every entry of the plugin directory but plugin.sig: files by digest,
 * symbolic links by target (a link is code too: it decides what loads).
 * Anything else (a FIFO, a device) is refused. With `copyTo`, the tree is
 * rebuilt there from what was read.
 */
async function digestTree(root: ConfinedRoot, copyTo?: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  let count = 0;
  let total = 0;
  const dirs = [''];
  if (copyTo !== undefined) {
    rmSync(copyTo, { recursive: true, force: true });
    makeDirs(copyTo, 0o700);
  }
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    const names = root.withDir(dir || '.', (dirPath) => readdirSync(dirPath)).sort();
    for (const name of names) {
      const path = dir ? `${dir}/${name}` : name;
      if (path === SIGNATURE_FILE) continue;
      if (++count > MAX_PLUGIN_FILES) throw new PluginFileError(root.hostPath, `holds more than ${MAX_PLUGIN_FILES} entries`);
      const copy = copyTo === undefined ? undefined : join(copyTo, path);
      const st = root.stat(path, false);
      if (st.isDirectory()) {
        dirs.push(path);
        if (copy !== undefined) mkdirSync(copy, { mode: 0o700 });
      } else if (st.isSymbolicLink()) {
        const target = root.withParent(path, (namePath) => readlinkSync(namePath));
        files[path] = `${LINK_PREFIX}${target}`;
        if (copy !== undefined) symlinkSync(target, copy);
      } else if (st.isFile()) {
        total += st.size;
        if (total > MAX_COMMAND_BYTES) throw new PluginFileError(root.hostPath, `holds more than ${MAX_COMMAND_BYTES} bytes`);
        files[path] = await sha256Of(root, path, MAX_COMMAND_BYTES, copy);
      } else {
        throw new PluginFileError(path, 'is not a regular file, directory or symbolic link');
      }
    }
  }
  return Object.fromEntries(Object.keys(files).sort().map((path) => [path, files[path] as string]));
}

/** Refuses, before anything is read, a command that is not a regular file inside the directory or is too large. */
function checkCommand(root: ConfinedRoot, command: string): void {
  closeSync(openRegular(root, command, MAX_COMMAND_BYTES).fd);
}

/**
 * The command's digest from the tree just hashed (read once, and what the
 * copy holds); a command that stopped being a regular file since
 * checkCommand is opened again for the error that says what it is.
 */
function commandDigest(root: ConfinedRoot, command: string, files: Record<string, string>): Promise<string> {
  const digest = files[command];
  return digest !== undefined && !digest.startsWith(LINK_PREFIX) ? Promise.resolve(digest) : sha256Of(root, command, MAX_COMMAND_BYTES);
}

/** The first difference between the signed tree and the one found, as a sentence; undefined when they agree. */
function treeDifference(signed: Record<string, string>, found: Record<string, string>): string | undefined {
  for (const path of Object.keys(signed).sort()) {
    if (!Object.hasOwn(found, path)) return `${path} was removed since it was signed`;
    if (found[path] !== signed[path]) return `${path} changed since it was signed`;
  }
  const added = Object.keys(found).sort().find((path) => !Object.hasOwn(signed, path));
  return added === undefined ? undefined : `${added} was added since it was signed`;
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

/**
 * A plugin found by its file's name has no manifest and nothing signed, but
 * still runs from a copy, made of the very bytes hashed: its sandbox then
 * holds its own file alone (not the directory it sits in, beside others),
 * and the host checks the executable it starts against that digest.
 */
export function copyCommand(pluginDir: string, command: string, copyTo: string): Promise<{ verifiedCopy: string; commandSha256: string }> {
  return withRoot(pluginDir, async (root) => {
    rmSync(copyTo, { recursive: true, force: true });
    makeDirs(copyTo, 0o700);
    const commandSha256 = await sha256Of(root, commandPath(command), MAX_COMMAND_BYTES, join(copyTo, command));
    return { verifiedCopy: copyTo, commandSha256 };
  });
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
  const statement = await withRoot(pluginDir, async (root): Promise<SignatureStatement> => {
    checkCommand(root, command);
    const files = await digestTree(root);
    return {
      v: 2,
      name: fields.name,
      version: fields.version,
      manifest_sha256: await manifestSha256(root, fields),
      command,
      command_sha256: await commandDigest(root, command, files),
      files,
    };
  });
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
  if (isRecord(statement) && statement.v === 1) {
    return `${SIGNATURE_FILE} is a version 1 statement, which covers only plugin.yaml and the command, not the modules the plugin loads; sign the plugin again`;
  }
  if (
    !isRecord(statement) ||
    !sameKeys(statement, ['v', 'name', 'version', 'manifest_sha256', 'command', 'command_sha256', 'files']) ||
    statement.v !== 2 ||
    typeof statement.name !== 'string' ||
    typeof statement.version !== 'string' ||
    typeof statement.command !== 'string' ||
    typeof statement.manifest_sha256 !== 'string' ||
    !SHA256_HEX.test(statement.manifest_sha256) ||
    typeof statement.command_sha256 !== 'string' ||
    !SHA256_HEX.test(statement.command_sha256) ||
    !isRecord(statement.files) ||
    !Object.entries(statement.files).every(([path, entry]) => typeof entry === 'string' && (SHA256_HEX.test(entry) || entry.startsWith(LINK_PREFIX)) && path !== SIGNATURE_FILE)
  ) {
    return `${SIGNATURE_FILE} statement is not a version 2 statement (v, name, version, manifest_sha256, command, command_sha256, files)`;
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

async function check(pluginDir: string, trustedKeysDir: string, fields: PluginFields, options: VerifyOptions): Promise<VerifyResult> {
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
    checkCommand(root, command);
    const files = await digestTree(root, options.copyTo);
    const commandSha256 = await commandDigest(root, command, files);
    if (commandSha256 !== statement.command_sha256) {
      return { status: 'tampered', keyId, detail: digestMismatch(`command ${command}`, statement.command_sha256, commandSha256) };
    }
    const difference = treeDifference(statement.files, files);
    if (difference) return { status: 'tampered', keyId, detail: difference };
    if (statement.files[command] !== statement.command_sha256) return { status: 'invalid', keyId, detail: `${SIGNATURE_FILE} gives two digests for ${command}` };
    return { status: 'valid', keyId, detail: `signed by key ${keyId}`, commandSha256, ...(options.copyTo !== undefined ? { verifiedCopy: options.copyTo } : {}) };
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
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  if (policy === 'off') return { status: 'skipped', detail: 'signature policy is off' };
  const result = await check(pluginDir, trustedKeysDir, fields, options);
  if (policy === 'require' && result.status !== 'valid') throw new SignatureError(fields.name, pluginDir, result);
  return result;
}
