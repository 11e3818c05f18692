/**
 * When to try again after a connection ends: exponential backoff with jitter, counted on
 * the clock the client is driven with (no timers). A close that can never succeed (a bad
 * room, option or scene; another connection took the session over) is not retried.
 */

export interface ReconnectOptions {
  /** First delay, seconds (default 0.25). */
  initialDelay?: number;
  /** Largest delay, seconds (default 5). */
  maxDelay?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Each delay is drawn from `[1 − jitter, 1] × delay` (default 0.5). */
  jitter?: number;
  /** Attempts before giving up (default: never give up). */
  maxAttempts?: number;
  /** Random numbers in [0, 1) (tests pass a seeded one). */
  random?: () => number;
}

/** Close codes after which trying again cannot help. */
const FINAL_CLOSE_REASONS = [/session resumed on another connection/i];
const FINAL_ERROR_CODES = new Set(["bad_room", "bad_option", "unknown_scene"]);

export class Backoff {
  private attempt = 0;
  private readonly o: Required<Omit<ReconnectOptions, "maxAttempts">> & { maxAttempts: number };

  constructor(options: ReconnectOptions = {}) {
    this.o = {
      initialDelay: options.initialDelay ?? 0.25,
      maxDelay: options.maxDelay ?? 5,
      factor: options.factor ?? 2,
      jitter: options.jitter ?? 0.5,
      maxAttempts: options.maxAttempts ?? Infinity,
      random: options.random ?? Math.random,
    };
  }

  /** Attempts made since the last success. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, or `null` to give up. */
  next(): number | null {
    if (this.attempt >= this.o.maxAttempts) return null;
    const base = Math.min(this.o.maxDelay, this.o.initialDelay * this.o.factor ** this.attempt);
    this.attempt++;
    return base * (1 - this.o.jitter * this.o.random());
  }

  /** A connection got its welcome: start over. */
  succeeded(): void {
    this.attempt = 0;
  }
}

/** Whether a connection that ended this way is worth trying again. */
export function shouldRetry(closeCode: number, reason: string, lastErrorCode: string | null): boolean {
  if (lastErrorCode !== null && FINAL_ERROR_CODES.has(lastErrorCode)) return false;
  if (closeCode === 1008 && FINAL_CLOSE_REASONS.some((r) => r.test(reason))) return false;
  return true;
}
