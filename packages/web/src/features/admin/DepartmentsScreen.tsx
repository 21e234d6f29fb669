/**
 * Departments: the groups staff search for in the directory ("Cardiology"). List and search, create,
 * rename and describe, name the functional account that stands for the department, add and remove
 * members, delete (the accounts stay).
 */
import { useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText, query, seg, when, type AdminDepartment, type AdminDepartmentDetails } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { ConfirmButton } from './ConfirmButton.tsx';
import { AdminTable } from './AdminTable.tsx';

const text = (form: FormData, name: string) => String(form.get(name) ?? '').trim();

export function DepartmentsScreen({ client }: { client: MatrixClient }) {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [status, setStatus] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const [creating, setCreating] = useState(false);
  const list = useLoad(() => adminRequest<{ departments: AdminDepartment[] }>(client, 'GET', `/departments${query({ search: applied })}`), [client, applied]);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const functional = text(form, 'functional_user_id');
    try {
      const created = await adminRequest<AdminDepartmentDetails>(client, 'POST', '/departments', {
        department_id: text(form, 'department_id'),
        name: text(form, 'name'),
        description: text(form, 'description') || null,
        ...(functional ? { functional_user_id: functional } : {}),
      });
      setCreating(false);
      setSelected(created.department_id);
      setStatus(`Created department ${created.name}.`);
    } catch (error) {
      setStatus(errorText(error));
    }
    list.reload();
  };

  return (
    <div className="stack">
      <p className="muted">Departments are how staff find a team in the directory; a functional account answers for the department.</p>
      <p role="status" className="admin-status">
        {status}
      </p>
      <form
        role="search"
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(search.trim());
        }}
      >
        <label>
          Search departments
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name or id" />
        </label>
        <button type="submit">Search</button>
      </form>
      {creating ? (
        <form className="panel stack" onSubmit={(e) => void create(e)} aria-labelledby="create-department-title">
          <h2 id="create-department-title">Create department</h2>
          <div className="grid-2">
            <label>
              Department id
              <input name="department_id" required maxLength={64} pattern="[a-z0-9._\-]+" autoCapitalize="none" spellCheck={false} placeholder="cardiology" autoFocus />
            </label>
            <label>
              Name
              <input name="name" required maxLength={100} placeholder="Cardiology" />
            </label>
            <label>
              Description
              <input name="description" maxLength={1000} />
            </label>
            <label>
              Functional account (optional)
              <input name="functional_user_id" maxLength={255} pattern="@.+" autoCapitalize="none" spellCheck={false} placeholder="@cardiology:example.org" />
            </label>
          </div>
          <div className="actions start">
            <button type="submit" className="primary">
              Create
            </button>
            <button type="button" onClick={() => setCreating(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div>
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            Create department
          </button>
        </div>
      )}
      {list.error && <p className="error">{list.error}</p>}
      <AdminTable caption="Departments" columns={['Department', 'Description', 'Functional account', 'Created']} actions emptyNote={list.data?.departments.length === 0 && 'No departments yet.'}>
        {list.data?.departments.map((d) => (
          <tr key={d.department_id} aria-selected={d.department_id === selected}>
            <th scope="row">
              {d.name}
              <div className="muted small mono">{d.department_id}</div>
            </th>
            <td>{d.description ?? <span className="muted">—</span>}</td>
            <td className="mono">{d.functional_user_id ?? <span className="muted">none</span>}</td>
            <td>{when(d.created_ts)}</td>
            <td>
              <button type="button" onClick={() => setSelected(d.department_id)} aria-label={`Manage ${d.name}`}>
                Manage
              </button>
            </td>
          </tr>
        ))}
      </AdminTable>
      {selected && (
        <DepartmentPanel
          key={selected}
          client={client}
          departmentId={selected}
          onChanged={(message, gone) => {
            setStatus(message);
            if (gone) setSelected(undefined);
            list.reload();
          }}
        />
      )}
    </div>
  );
}

function DepartmentPanel({ client, departmentId, onChanged }: { client: MatrixClient; departmentId: string; onChanged(message: string, gone?: boolean): void }) {
  const department = useLoad(() => adminRequest<AdminDepartmentDetails>(client, 'GET', `/departments/${seg(departmentId)}`), [client, departmentId]);
  const [error, setError] = useState<string>();
  const path = `/departments/${seg(departmentId)}`;

  const act = async (work: () => Promise<unknown>, done: string, gone = false): Promise<boolean> => {
    try {
      await work();
      setError(undefined);
      onChanged(done, gone);
      if (!gone) department.reload();
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    }
  };
  const d = department.data;
  if (department.error) return <p className="error">{department.error}</p>;
  if (!d) return null;

  return (
    <section className="panel stack" aria-labelledby="department-title">
      <h2 id="department-title">Manage {d.name}</h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <form
        className="inline-form"
        aria-label="Name and description"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          void act(() => adminRequest(client, 'PUT', path, { name: text(form, 'name'), description: text(form, 'description') || null }), 'Department saved.');
        }}
      >
        <label>
          Name
          <input name="name" required maxLength={100} defaultValue={d.name} />
        </label>
        <label>
          Description
          <input name="description" maxLength={1000} defaultValue={d.description ?? ''} />
        </label>
        <button type="submit">Save</button>
      </form>
      <form
        className="inline-form"
        aria-label="Change the functional account"
        onSubmit={(e) => {
          e.preventDefault();
          const userId = text(new FormData(e.currentTarget), 'user_id');
          void act(() => adminRequest(client, 'PUT', `${path}/functional-account`, { user_id: userId || null }), userId ? `${userId} now answers for ${d.name}.` : 'Functional account removed.');
        }}
      >
        <label>
          Functional account
          <input name="user_id" maxLength={255} pattern="@.+" autoCapitalize="none" spellCheck={false} defaultValue={d.functional_user_id ?? ''} placeholder="none" />
        </label>
        <button type="submit">Save account</button>
      </form>
      <h3>Members ({d.members.length})</h3>
      {d.members.length > 0 ? (
        <ul className="member-list" aria-label={`Members of ${d.name}`}>
          {d.members.map((userId) => (
            <li key={userId}>
              <span className="mono">{userId}</span>
              <button type="button" aria-label={`Remove ${userId}`} onClick={() => void act(() => adminRequest(client, 'DELETE', `${path}/members/${seg(userId)}`), `Removed ${userId}.`)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No members yet.</p>
      )}
      <form
        className="inline-form"
        aria-label="Add a member"
        onSubmit={(e) => {
          e.preventDefault();
          const field = e.currentTarget.elements.namedItem('member') as HTMLInputElement;
          const userId = field.value.trim();
          void act(() => adminRequest(client, 'PUT', `${path}/members/${seg(userId)}`), `Added ${userId}.`).then((ok) => {
            if (ok) field.value = '';
          });
        }}
      >
        <label>
          Add member (user id)
          <input name="member" required maxLength={255} pattern="@.+" autoCapitalize="none" spellCheck={false} placeholder="@name:example.org" />
        </label>
        <button type="submit">Add</button>
      </form>
      <div className="actions start">
        <ConfirmButton label="Delete department" confirmLabel={`Confirm: delete ${d.name}`} onConfirm={() => act(() => adminRequest(client, 'DELETE', path), `Deleted ${d.name}.`, true)} />
      </div>
    </section>
  );
}
