/**
 * Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, what every
 * authenticator app speaks). A code is accepted one step either side of now, and each time step
 * works once per user: the last accepted step is stored and anything at or before it is a replay.
 */
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { Stores } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { SecretBox } from './secret-box.ts';

const CODE = /^\d{6}$/;
/** One step either side: phones whose clocks drift a little still work. */
const TOLERANCE_SECONDS = 30;

export interface TotpEnrollment {
  secret: string;
  uri: string;
  /** The URI as a QR code, an SVG document made by the qrcode library (shapes only, no script). */
  qrSvg: string;
}

/** Strips the spaces and dashes people type between digit groups. */
export const normaliseCode = (code: string) => code.replace(/[\s-]/g, '');

export class TotpService {
  readonly #clock: Clock;
  readonly #box: SecretBox;
  readonly #issuer: string;

  constructor(clock: Clock, box: SecretBox, issuer: string) {
    this.#clock = clock;
    this.#box = box;
    this.#issuer = issuer;
  }

  /** A new secret and how to show it to the person enrolling. */
  async newEnrollment(userId: string): Promise<TotpEnrollment> {
    const secret = generateSecret({ length: 20 });
    return this.describe(userId, secret);
  }

  async describe(userId: string, secret: string): Promise<TotpEnrollment> {
    const uri = generateURI({ issuer: this.#issuer, label: userId, secret });
    const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return { secret, uri, qrSvg };
  }

  seal(userId: string, secret: string): string {
    return this.#box.seal(secret, userId);
  }

  open(userId: string, sealed: string): string | undefined {
    return this.#box.open(sealed, userId);
  }

  /** The time step `code` belongs to, when it is valid for `secret` now (and later than `afterStep`). */
  async matchingStep(secret: string, code: string, afterStep?: number | null): Promise<number | undefined> {
    const token = normaliseCode(code);
    if (!CODE.test(token)) return undefined;
    const result = await verify({
      secret,
      token,
      epoch: Math.floor(this.#clock.now() / 1000),
      epochTolerance: TOLERANCE_SECONDS,
      ...(afterStep !== null && afterStep !== undefined ? { afterTimeStep: afterStep } : {}),
    }).catch(() => undefined);
    return result?.valid && 'timeStep' in result ? result.timeStep : undefined;
  }

  /** Whether the user has TOTP enrolled. */
  async isEnrolled(stores: Stores, userId: string): Promise<boolean> {
    return (await stores.mfa.getTotp(userId)) !== undefined;
  }

  /** Checks a code against the user's enrolled secret and uses up its time step. */
  async verifyForUser(stores: Stores, userId: string, code: string): Promise<'ok' | 'invalid' | 'replayed'> {
    const record = await stores.mfa.getTotp(userId);
    const secret = record && this.open(userId, record.secretEncrypted);
    if (!record || !secret) return 'invalid';
    const step = await this.matchingStep(secret, code);
    if (step === undefined) return 'invalid';
    if (record.lastUsedStep !== null && step <= record.lastUsedStep) return 'replayed';
    // The conditional update settles a race between two requests carrying the same code.
    return (await stores.mfa.claimTotpStep(userId, step)) ? 'ok' : 'replayed';
  }

  /** Stores a confirmed secret; the confirming code's step counts as used. */
  async enroll(stores: Stores, userId: string, secret: string, confirmedStep: number): Promise<void> {
    await stores.mfa.setTotp(userId, this.seal(userId, secret), confirmedStep, this.#clock.now());
  }
}
