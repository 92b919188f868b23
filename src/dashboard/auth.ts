/**
 * Who may use the dashboard: whoever holds its token. The token is random
 * (or the operator's), printed once at start in the URL, as notebook
 * servers do; the first visit trades it for an HttpOnly, SameSite=Strict
 * cookie. Requests that change something must also carry a header no other
 * site can make a browser send, and every request must name this server as
 * its Host, so a page elsewhere can neither forge a call nor rebind a name
 * to 127.0.0.1 to read the answers.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `hst serve`'s port unless told otherwise. */
export const DEFAULT_DASHBOARD_PORT = 7420;

export const TOKEN_COOKIE = 'hst_dashboard';
/** Set by the dashboard's own scripts on every request that changes something. */
export const CSRF_HEADER = 'x-hst-dashboard';

/** 192 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Compared in constant time, whatever the lengths. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined || given === '') return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** The Host headers this server answers to: its own address, by IP or as localhost. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

/** A token the operator chose: long enough that guessing it is out of the question. */
export function tokenProblem(token: string): string | undefined {
  if (token.length < 16) return `a dashboard token must have at least 16 characters (this one has ${token.length})`;
  if (!/^[\x21-\x7e]+$/.test(token)) return 'a dashboard token must be printable ASCII without spaces';
  return undefined;
}
