/**
 * The table every admin screen lists its records in: scrollable on narrow screens, a caption for
 * screen readers, column headers, and (with `actions`) an unlabelled-to-the-eye column for buttons.
 * The caller renders the rows; `emptyNote` is said under the headers when there are none.
 */
import type { ReactNode } from 'react';

export function AdminTable(props: { caption: string; columns: string[]; actions?: boolean; className?: string; emptyNote?: string | false; children: ReactNode }) {
  const { caption, columns, actions = false, className, emptyNote, children } = props;
  return (
    <div className="table-wrap">
      <table className={className}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
      {emptyNote && <p className="muted">{emptyNote}</p>}
    </div>
  );
}
