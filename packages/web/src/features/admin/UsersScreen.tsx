/** Users: list and search, create with roles, change roles, deactivate, reset second factors; a user's devices. */
import { useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText, query, ROLES, when, type AdminUser, type Whoami } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { ConfirmButton } from './ConfirmButton.tsx';
import { DevicesPanel } from './DevicesPanel.tsx';
import { Pager, usePages } from './Pager.tsx';
import { AdminTable } from './AdminTable.tsx';

const PAGE_SIZES = [10, 50, 100];

const roleLabel = (role: string) => role.replace('_', ' ');

export function UsersScreen({ client, me }: { client: MatrixClient; me: Whoami }) {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [status, setStatus] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const [pageSize, setPageSize] = useState(50);
  const pages = usePages();
  const users = useLoad(
    () => adminRequest<{ users: AdminUser[]; next_from?: string }>(client, 'GET', `/users${query({ search: applied, from: pages.from, limit: pageSize })}`),
    [client, applied, pages.from, pageSize],
  );

  const act = async (work: () => Promise<unknown>, done: string) => {
    try {
      await work();
      setStatus(done);
    } catch (error) {
      setStatus(errorText(error));
    }
    users.reload();
  };
  const chosen = users.data?.users.find((u) => u.user_id === selected);

  return (
    <div className="stack">
      <p role="status" className="admin-status">
        {status}
      </p>
      <form
        role="search"
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(search.trim());
          pages.reset();
        }}
      >
        <label>
          Search users
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name or user id" />
        </label>
        <button type="submit">Search</button>
        <label className="narrow">
          Per page
          <select
            value={pageSize}
            onChange={(e) => {
              setPageSize(Number(e.target.value));
              pages.reset();
            }}
          >
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
      </form>
      <CreateUser client={client} onCreated={(userId) => void act(async () => setSelected(userId), `Created ${userId}.`)} />
      {users.error && <p className="error">{users.error}</p>}
      <AdminTable caption="Users" columns={['User', 'Roles', 'State', 'Created']} actions emptyNote={users.data?.users.length === 0 && 'No users match.'}>
        {users.data?.users.map((user) => (
          <tr key={user.user_id} aria-selected={user.user_id === selected}>
            <th scope="row">
              {user.displayname ?? user.user_id}
              {user.displayname && <div className="muted small">{user.user_id}</div>}
            </th>
            <td>{user.roles.length ? user.roles.map(roleLabel).join(', ') : <span className="muted">none</span>}</td>
            <td>{user.deactivated ? 'Deactivated' : 'Active'}</td>
            <td>{when(user.created_ts)}</td>
            <td>
              <button type="button" onClick={() => setSelected(user.user_id)} aria-label={`Manage ${user.user_id}`}>
                Manage
              </button>
            </td>
          </tr>
        ))}
      </AdminTable>
      <Pager label="Users" pages={pages} nextFrom={users.data?.next_from} />
      {chosen && (
        <section className="panel stack" aria-labelledby="manage-title">
          <h2 id="manage-title">Manage {chosen.user_id}</h2>
          <RolesForm key={chosen.user_id + chosen.roles.join()} user={chosen} onSave={(roles) => act(() => adminRequest(client, 'PUT', `/users/${encodeURIComponent(chosen.user_id)}/roles`, { roles }), 'Roles saved.')} />
          <div className="actions start">
            <ConfirmButton
              label="Reset second factors"
              confirmLabel={`Confirm: reset second factors of ${chosen.user_id}`}
              onConfirm={() => act(() => adminRequest(client, 'POST', `/users/${encodeURIComponent(chosen.user_id)}/reset-mfa`), 'Second factors removed: the user enrols again at the next sign-in.')}
            />
            <ConfirmButton
              label="Deactivate"
              confirmLabel={`Confirm: deactivate ${chosen.user_id}`}
              disabled={chosen.deactivated || chosen.user_id === me.user_id}
              onConfirm={() => act(() => adminRequest(client, 'POST', `/users/${encodeURIComponent(chosen.user_id)}/deactivate`), 'Account deactivated and its sessions ended.')}
            />
          </div>
          <DevicesPanel client={client} userId={chosen.user_id} />
        </section>
      )}
    </div>
  );
}

function RolesForm({ user, onSave }: { user: AdminUser; onSave(roles: string[]): Promise<void> }) {
  const [roles, setRoles] = useState(new Set(user.roles));
  const toggle = (role: string, on: boolean) => {
    const next = new Set(roles);
    if (on) next.add(role);
    else next.delete(role);
    setRoles(next);
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void onSave([...roles]);
      }}
    >
      <fieldset className="roles" disabled={user.deactivated}>
        <legend>Roles</legend>
        {ROLES.map((role) => (
          <label key={role} className="check">
            <input type="checkbox" checked={roles.has(role)} onChange={(e) => toggle(role, e.target.checked)} /> {roleLabel(role)}
          </label>
        ))}
        <button type="submit">Save roles</button>
      </fieldset>
    </form>
  );
}

function CreateUser({ client, onCreated }: { client: MatrixClient; onCreated(userId: string): void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string>();
  const [roles, setRoles] = useState<Set<string>>(new Set(['clinician']));
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const displayname = String(form.get('displayname') ?? '').trim();
    try {
      const created = await adminRequest<{ user_id: string }>(client, 'POST', '/users', {
        localpart: String(form.get('localpart') ?? '').trim(),
        password: String(form.get('password') ?? ''),
        roles: [...roles],
        ...(displayname ? { displayname } : {}),
      });
      setError(undefined);
      setOpen(false);
      onCreated(created.user_id);
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (!open) {
    return (
      <div>
        <button type="button" className="primary" onClick={() => setOpen(true)}>
          Create user
        </button>
      </div>
    );
  }
  return (
    <form className="panel stack" onSubmit={(e) => void submit(e)} aria-labelledby="create-title">
      <h2 id="create-title">Create user</h2>
      <div className="grid-2">
        <label>
          User name
          <input name="localpart" required maxLength={255} autoComplete="off" autoCapitalize="none" spellCheck={false} autoFocus />
        </label>
        <label>
          Display name
          <input name="displayname" maxLength={256} autoComplete="off" />
        </label>
        <label>
          Initial password
          <input name="password" type="password" required maxLength={1024} autoComplete="new-password" />
        </label>
      </div>
      <fieldset className="roles">
        <legend>Roles</legend>
        {ROLES.map((role) => (
          <label key={role} className="check">
            <input
              type="checkbox"
              checked={roles.has(role)}
              onChange={(e) => {
                const next = new Set(roles);
                if (e.target.checked) next.add(role);
                else next.delete(role);
                setRoles(next);
              }}
            />{' '}
            {roleLabel(role)}
          </label>
        ))}
      </fieldset>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="actions start">
        <button type="submit" className="primary">
          Create
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
