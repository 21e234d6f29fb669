/**
 * Organisation policies that apply without a restart (MFA, session lifetime, inactivity, encryption,
 * and whatever else the server lists). Durations are edited in minutes; "Use default" goes back to
 * the configuration's value.
 */
import { useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText, type Policy } from './admin-api.ts';
import { useLoad } from './use-admin.ts';

const LABELS: Record<string, string> = {
  mfa: 'Second factor (MFA)',
  session_idle_timeout_ms: 'Sign out after inactivity (minutes, 0 = never)',
  session_max_lifetime_ms: 'Maximum session lifetime (minutes, 0 = never)',
  room_encryption: 'End-to-end encryption of rooms',
  contact_policy: 'Who may contact whom',
  unassigned_role: 'Role counted for accounts without one',
  retention_days: 'Message retention (days, 0 = keep)',
};

/** Choices of the policies the server takes as a fixed list of words. */
const CHOICES: Record<string, string[]> = {
  mfa: ['optional', 'required'],
  room_encryption: ['optional', 'required'],
  contact_policy: ['roles', 'off'],
  unassigned_role: ['staff', 'patient'],
};

const isDuration = (key: string) => key.endsWith('_ms');
const MINUTE = 60_000;

function shown(key: string, value: unknown): string {
  if (isDuration(key) && typeof value === 'number') return String(value / MINUTE);
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

function parsed(key: string, text: string, like: unknown): unknown {
  if (isDuration(key)) return Math.round(Number(text) * MINUTE);
  if (typeof like === 'number') return Number(text);
  if (typeof like === 'boolean') return text === 'true';
  if (typeof like === 'object' && like !== null) return JSON.parse(text) as unknown;
  return text;
}

export function PoliciesScreen({ client }: { client: MatrixClient }) {
  const policies = useLoad(() => adminRequest<{ policies: Record<string, Policy> }>(client, 'GET', '/policies'), [client]);
  const [status, setStatus] = useState<string>();
  const save = async (changes: Record<string, unknown>) => {
    try {
      await adminRequest(client, 'PUT', '/policies', changes);
      setStatus('Policy saved: it applies at once.');
    } catch (error) {
      setStatus(errorText(error));
    }
    policies.reload();
  };
  return (
    <div className="stack">
      <p role="status" className="admin-status">
        {status}
      </p>
      {policies.error && <p className="error">{policies.error}</p>}
      {policies.data &&
        Object.entries(policies.data.policies).map(([key, policy]) => <PolicyRow key={`${key}:${JSON.stringify(policy.value)}`} name={key} policy={policy} onSave={save} />)}
    </div>
  );
}

function PolicyRow({ name, policy, onSave }: { name: string; policy: Policy; onSave(changes: Record<string, unknown>): Promise<void> }) {
  const [text, setText] = useState(shown(name, policy.value));
  const [error, setError] = useState<string>();
  const id = `policy-${name}`;
  const choices = CHOICES[name] ?? (typeof policy.value === 'boolean' ? ['false', 'true'] : undefined);
  return (
    <form
      className="panel policy"
      onSubmit={(e) => {
        e.preventDefault();
        try {
          setError(undefined);
          void onSave({ [name]: parsed(name, text, policy.value) });
        } catch {
          setError('That value is not valid.');
        }
      }}
    >
      <label htmlFor={id}>{LABELS[name] ?? name}</label>
      {policy.description && (
        <p className="muted small" id={`${id}-help`}>
          {policy.description}
        </p>
      )}
      <div className="inline-form">
        {choices ? (
          <select id={id} value={text} onChange={(e) => setText(e.target.value)} aria-describedby={`${id}-help`}>
            {choices.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        ) : (
          <input id={id} value={text} onChange={(e) => setText(e.target.value)} inputMode={typeof policy.value === 'number' ? 'decimal' : 'text'} aria-describedby={`${id}-help`} />
        )}
        <button type="submit">Save</button>
        {policy.source === 'stored' && (
          <button type="button" onClick={() => void onSave({ [name]: null })}>
            Use default ({shown(name, policy.default)})
          </button>
        )}
      </div>
      <p className="muted small">{policy.source === 'stored' ? 'Set by an administrator.' : 'From the server configuration.'}</p>
      {error && <p className="error">{error}</p>}
    </form>
  );
}
