/**
 * In a direct chat's header: whether the other person's identity is verified, and a button to verify
 * them by emoji (an in-room verification request, answered on any of their sessions).
 */
import { useEffect, useState } from 'react';
import type { MatrixClient, Room } from 'matrix-js-sdk';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { showVerification } from './VerificationDialog.tsx';

export function VerifyPerson({ client, room, userId }: { client: MatrixClient; room: Room; userId: string }) {
  const [verified, setVerified] = useState<boolean>();
  const [error, setError] = useState<string>();
  const name = room.getMember(userId)?.name ?? userId;

  useEffect(() => {
    const crypto = client.getCrypto();
    if (!crypto) return;
    let live = true;
    const check = () =>
      void crypto.getUserVerificationStatus(userId).then(
        (status) => live && setVerified(status.isCrossSigningVerified()),
        () => {},
      );
    const onChange = (changed: string) => changed === userId && check();
    check();
    client.on(CryptoEvent.UserTrustStatusChanged, onChange);
    return () => {
      live = false;
      client.off(CryptoEvent.UserTrustStatusChanged, onChange);
    };
  }, [client, userId]);

  const start = async () => {
    setError(undefined);
    try {
      const crypto = client.getCrypto();
      if (!crypto) throw new Error('no crypto');
      showVerification(await crypto.requestVerificationDM(userId, room.roomId));
    } catch {
      setError('Could not start verification.');
    }
  };

  if (verified === undefined) return null;
  if (verified) {
    return (
      <span className="badge verified" data-testid="person-verified">
        Verified
      </span>
    );
  }
  return (
    <>
      <button type="button" onClick={() => void start()} aria-label={`Verify ${name}`}>
        Verify
      </button>
      {error && (
        <span className="error small" role="alert">
          {error}
        </span>
      )}
    </>
  );
}
