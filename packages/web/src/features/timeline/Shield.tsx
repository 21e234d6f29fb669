/** The encryption shield: a room or message is end-to-end encrypted, could not be decrypted, or is not encrypted. */
export type ShieldState = 'encrypted' | 'unverified' | 'undecryptable' | 'plaintext';

const LABEL: Record<ShieldState, string> = {
  encrypted: 'End-to-end encrypted',
  unverified: 'Encrypted by a device that is not verified',
  undecryptable: 'Could not be decrypted on this device',
  plaintext: 'Not encrypted',
};

export function Shield({ state, compact = false }: { state: ShieldState; compact?: boolean }) {
  return (
    <span className={`shield shield-${state}${compact ? ' compact' : ''}`} title={LABEL[state]} role="img" aria-label={LABEL[state]}>
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
        <path d="M8 1 2.5 3v4.2c0 3.3 2.3 6.4 5.5 7.8 3.2-1.4 5.5-4.5 5.5-7.8V3L8 1Z" />
        {state === 'encrypted' && <path d="m5.4 8 1.8 1.8 3.4-3.6" className="mark" />}
        {state !== 'encrypted' && <path d="M8 4.8v4M8 10.8v.4" className="mark" />}
      </svg>
    </span>
  );
}
