/** A destructive action in two steps: the first press asks, the second does it (Escape or Cancel backs out). */
import { useState } from 'react';

export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  disabled,
  accessibleLabel,
}: {
  label: string;
  confirmLabel: string;
  onConfirm(): unknown;
  disabled?: boolean;
  /** What a screen reader hears when the visible label alone is ambiguous (one per table row). */
  accessibleLabel?: string;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="danger-outline" disabled={disabled} aria-label={accessibleLabel} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}>
      <button
        type="button"
        className="danger"
        autoFocus
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void Promise.resolve(onConfirm()).finally(() => {
            setBusy(false);
            setAsking(false);
          });
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
