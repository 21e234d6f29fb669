/**
 * WebAuthn passkeys and security keys as a second factor (W3C WebAuthn level 2 through
 * @simplewebauthn/server). The relying party is this server's public URL: its host name is the RP ID
 * and its origin the only accepted origin. Attestation is not asked for ("none"): we trust the
 * person who just proved their password to pick their own authenticator.
 */
import { createHash } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Stores } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';

// EdDSA, ES256, RS256: what passkeys and security keys use. Named here rather than left to the
// library, whose default probes post-quantum support through an experimental (warning) Node API.
const ALGORITHMS = [-8, -7, -257];

/** How long the browser may wait for the person to touch their authenticator. */
const TIMEOUT_MS = 120_000;

export interface RelyingParty {
  /** e.g. chat.hospital.example.org */
  id: string;
  origin: string;
  name: string;
}

function parseJson<T>(text: string): T | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

export class WebAuthnService {
  readonly #clock: Clock;
  readonly #relyingParty: () => RelyingParty;

  /** `relyingParty` is read at each use: the public URL is known only once the server listens. */
  constructor(clock: Clock, relyingParty: () => RelyingParty) {
    this.#clock = clock;
    this.#relyingParty = relyingParty;
  }

  async hasCredentials(stores: Stores, userId: string): Promise<boolean> {
    return (await stores.mfa.listWebAuthnCredentials(userId)).length > 0;
  }

  async registrationOptions(stores: Stores, userId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const rp = this.#relyingParty();
    const existing = await stores.mfa.listWebAuthnCredentials(userId);
    return generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: userId,
      // Stable per user, so a second key for the same person lands on the same account entry.
      userID: new Uint8Array(createHash('sha256').update(userId).digest()),
      attestationType: 'none',
      timeout: TIMEOUT_MS,
      excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
  }

  /** Verifies a new credential against the challenge and stores it; false when it does not verify. */
  async register(stores: Stores, userId: string, responseText: string, expectedChallenge: string): Promise<boolean> {
    const response = parseJson<RegistrationResponseJSON>(responseText);
    if (!response) return false;
    const rp = this.#relyingParty();
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      // A second factor needs presence, not a PIN: plain security keys must work.
      requireUserVerification: false,
      supportedAlgorithmIDs: ALGORITHMS,
    }).catch(() => undefined);
    if (!result?.verified) return false;
    const { credential } = result.registrationInfo;
    if (await stores.mfa.getWebAuthnCredential(credential.id)) return false;
    await stores.mfa.addWebAuthnCredential({
      credentialId: credential.id,
      userId,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      signCount: credential.counter,
      transports: credential.transports ?? response.response.transports ?? [],
      createdTs: this.#clock.now(),
    });
    return true;
  }

  async authenticationOptions(stores: Stores, userId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const credentials = await stores.mfa.listWebAuthnCredentials(userId);
    return generateAuthenticationOptions({
      rpID: this.#relyingParty().id,
      allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports })),
      userVerification: 'preferred',
      timeout: TIMEOUT_MS,
    });
  }

  /** Verifies an assertion made by one of the user's own credentials; false otherwise. */
  async authenticate(stores: Stores, userId: string, responseText: string, expectedChallenge: string): Promise<boolean> {
    const response = parseJson<AuthenticationResponseJSON>(responseText);
    if (!response || typeof response.id !== 'string') return false;
    const stored = await stores.mfa.getWebAuthnCredential(response.id);
    if (!stored || stored.userId !== userId) return false;
    const rp = this.#relyingParty();
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: { id: stored.credentialId, publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'base64url')), counter: stored.signCount, transports: stored.transports },
      requireUserVerification: false,
    }).catch(() => undefined);
    // The library refuses a signature counter that went backwards (a cloned authenticator).
    if (!result?.verified) return false;
    await stores.mfa.recordWebAuthnUse(stored.credentialId, result.authenticationInfo.newCounter, this.#clock.now());
    return true;
  }
}
