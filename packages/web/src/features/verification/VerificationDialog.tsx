/**
 * Emoji (SAS) verification, incoming and outgoing, in one dialog: a request arrives (another of one's
 * own sessions, or another person) or is started here; both sides accept, compare seven emoji and
 * press "They match". `showVerification` opens the dialog for a request started elsewhere in the app.
 */
import { useEffect, useRef, useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import {
  CryptoEvent,
  VerificationPhase,
  VerificationRequestEvent,
  VerifierEvent,
  type ShowSasCallbacks,
  type VerificationRequest,
} from 'matrix-js-sdk/lib/crypto-api/index.js';

const openers = new Set<(request: VerificationRequest) => void>();

/** Shows the verification dialog for a request this app started. */
export function showVerification(request: VerificationRequest): void {
  for (const open of openers) open(request);
}

/** Mounted once while signed in: opens the dialog for incoming requests and for ones started here. */
export function VerificationRequests({ client }: { client: MatrixClient }) {
  const [request, setRequest] = useState<VerificationRequest>();
  useEffect(() => {
    const open = (next: VerificationRequest) => setRequest(next);
    const incoming = (next: VerificationRequest) => {
      if (next.phase === VerificationPhase.Requested && !next.initiatedByMe) setRequest(next);
    };
    openers.add(open);
    client.on(CryptoEvent.VerificationRequestReceived, incoming);
    return () => {
      openers.delete(open);
      client.off(CryptoEvent.VerificationRequestReceived, incoming);
    };
  }, [client]);
  if (!request) return null;
  return <VerificationDialog key={request.transactionId ?? 'request'} client={client} request={request} onClose={() => setRequest(undefined)} />;
}

function useRequestPhase(request: VerificationRequest): VerificationPhase {
  const [phase, setPhase] = useState(request.phase);
  useEffect(() => {
    const update = () => setPhase(request.phase);
    request.on(VerificationRequestEvent.Change, update);
    update();
    return () => void request.off(VerificationRequestEvent.Change, update);
  }, [request]);
  return phase;
}

function VerificationDialog({ client, request, onClose }: { client: MatrixClient; request: VerificationRequest; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const phase = useRequestPhase(request);
  const [sas, setSas] = useState<ShowSasCallbacks>();
  const [confirmed, setConfirmed] = useState(false);
  const [error, setError] = useState<string>();
  const other = request.isSelfVerification ? 'your other session' : (client.getUser(request.otherUserId)?.displayName ?? request.otherUserId);

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  // The side that asked starts the emoji comparison once the other side is ready.
  useEffect(() => {
    if (phase === VerificationPhase.Ready && request.initiatedByMe && !request.verifier) {
      request.startVerification('m.sas.v1').catch(() => setError('Could not start the emoji comparison.'));
    }
  }, [phase, request]);

  // Both sides run the verifier once it exists; it shows the emoji through ShowSas.
  const verifier = request.verifier;
  useEffect(() => {
    if (!verifier) return;
    const onShow = (callbacks: ShowSasCallbacks) => setSas(callbacks);
    verifier.on(VerifierEvent.ShowSas, onShow);
    const existing = verifier.getShowSasCallbacks();
    if (existing) setSas(existing);
    verifier.verify().catch(() => {
      // Cancellation is shown through the request's phase.
    });
    return () => void verifier.off(VerifierEvent.ShowSas, onShow);
  }, [verifier]);

  const close = () => {
    if (phase !== VerificationPhase.Done && phase !== VerificationPhase.Cancelled) void request.cancel().catch(() => {});
    dialog.current?.close();
    onClose();
  };

  let body: React.ReactNode;
  if (phase === VerificationPhase.Done) {
    body = (
      <>
        <p role="status">{request.isSelfVerification ? 'This session is verified.' : `${other} is verified.`}</p>
        <div className="actions">
          <button type="button" className="primary" onClick={close}>
            Done
          </button>
        </div>
      </>
    );
  } else if (phase === VerificationPhase.Cancelled) {
    body = (
      <>
        <p role="status">Verification cancelled{request.cancellationCode === 'm.mismatched_sas' ? ': the emoji did not match' : ''}.</p>
        <div className="actions">
          <button type="button" onClick={close}>
            Close
          </button>
        </div>
      </>
    );
  } else if (sas?.sas.emoji) {
    body = (
      <>
        <p>Check that {other} shows the same emoji, in the same order.</p>
        <ol className="emoji-list" aria-label="Emoji to compare">
          {sas.sas.emoji.map(([emoji, name], i) => (
            <li key={i}>
              <span className="emoji" aria-hidden="true">
                {emoji}
              </span>
              <span>{name}</span>
            </li>
          ))}
        </ol>
        {confirmed ? (
          <p role="status">Waiting for {other} to confirm…</p>
        ) : (
          <div className="actions">
            <button type="button" onClick={() => sas.mismatch()}>
              They don’t match
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => {
                setConfirmed(true);
                void sas.confirm().catch(() => setError('Could not confirm.'));
              }}
            >
              They match
            </button>
          </div>
        )}
      </>
    );
  } else if (phase === VerificationPhase.Requested && !request.initiatedByMe) {
    body = (
      <>
        <p>{request.isSelfVerification ? 'Another of your sessions wants to verify this one.' : `${other} wants to verify you.`}</p>
        <div className="actions">
          <button type="button" onClick={close}>
            Decline
          </button>
          <button type="button" className="primary" onClick={() => void request.accept().catch(() => setError('Could not accept.'))}>
            Accept
          </button>
        </div>
      </>
    );
  } else {
    body = (
      <>
        <p role="status">{phase === VerificationPhase.Requested ? `Waiting for ${other} to accept…` : 'Preparing the emoji…'}</p>
        <div className="actions">
          <button type="button" onClick={close}>
            Cancel
          </button>
        </div>
      </>
    );
  }

  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby="verify-title"
      onCancel={(e) => {
        e.preventDefault();
        close();
      }}
    >
      <h2 id="verify-title">Verify {request.isSelfVerification ? 'your session' : other}</h2>
      {body}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </dialog>
  );
}
