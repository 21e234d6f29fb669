/**
 * The admin console at `/admin/<section>`, for users holding `admin` or `security_officer`. Sections
 * follow the admin areas the server says the caller may use (security officers: audit and report).
 * The server checks every call again; hiding a section is only a convenience.
 */
import { useEffect, useRef } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import type { Route } from '../../matrix/hooks.ts';
import type { Whoami } from './admin-api.ts';
import { UsersScreen } from './UsersScreen.tsx';
import { RoomsScreen } from './RoomsScreen.tsx';
import { PoliciesScreen } from './PoliciesScreen.tsx';
import { AuditScreen } from './AuditScreen.tsx';
import { ReportScreen } from './ReportScreen.tsx';
import { NoticesScreen } from './NoticesScreen.tsx';
import { DepartmentsScreen } from './DepartmentsScreen.tsx';
import { RegistrationTokensScreen } from './RegistrationTokensScreen.tsx';
import { LegalHoldsScreen } from './LegalHoldsScreen.tsx';

interface Section {
  id: string;
  label: string;
  area: string;
}

const SECTIONS: readonly Section[] = [
  { id: 'users', label: 'Users', area: 'users' },
  { id: 'departments', label: 'Departments', area: 'departments' },
  { id: 'registration-tokens', label: 'Registration tokens', area: 'registration_tokens' },
  { id: 'rooms', label: 'Rooms', area: 'rooms' },
  { id: 'policies', label: 'Policies', area: 'policies' },
  { id: 'retention', label: 'Retention and legal holds', area: 'retention' },
  { id: 'audit', label: 'Audit trail', area: 'audit' },
  { id: 'report', label: 'Compliance report', area: 'report' },
  { id: 'notices', label: 'Server notices', area: 'notices' },
];

export function AdminConsole({ client, me, section, navigate }: { client: MatrixClient; me: Whoami; section: string; navigate(route: Route): void }) {
  const allowed = SECTIONS.filter((s) => me.admin_areas.includes(s.area));
  const current = allowed.find((s) => s.id === section) ?? allowed[0];
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.title = 'Admin · Caduceus';
    heading.current?.focus();
    return () => {
      document.title = 'Caduceus';
    };
  }, [current?.id]);

  return (
    <div className="admin">
      <a href="#admin-main" className="skip-link">
        Skip to content
      </a>
      <header className="bar admin-bar">
        <span className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" /> Caduceus admin
        </span>
        <button type="button" className="link" onClick={() => navigate({ view: 'home' })}>
          Back to messages
        </button>
      </header>
      <nav className="admin-nav" aria-label="Admin sections">
        <ul>
          {allowed.map((s) => (
            <li key={s.id}>
              <a
                href={`/admin/${s.id}`}
                aria-current={s.id === current?.id ? 'page' : undefined}
                onClick={(event) => {
                  event.preventDefault();
                  navigate({ view: 'admin', section: s.id });
                }}
              >
                {s.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="admin-main" className="admin-main">
        {current ? (
          <>
            <h1 ref={heading} tabIndex={-1}>
              {current.label}
            </h1>
            {current.id === 'users' && <UsersScreen client={client} me={me} />}
            {current.id === 'departments' && <DepartmentsScreen client={client} />}
            {current.id === 'registration-tokens' && <RegistrationTokensScreen client={client} />}
            {current.id === 'rooms' && <RoomsScreen client={client} />}
            {current.id === 'policies' && <PoliciesScreen client={client} />}
            {current.id === 'retention' && <LegalHoldsScreen client={client} />}
            {current.id === 'audit' && <AuditScreen client={client} />}
            {current.id === 'report' && <ReportScreen client={client} />}
            {current.id === 'notices' && <NoticesScreen client={client} />}
          </>
        ) : (
          <p>Your account has no administration rights.</p>
        )}
      </main>
    </div>
  );
}
