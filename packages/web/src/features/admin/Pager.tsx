/**
 * Paging through an admin list with the server's opaque `next_from` tokens. The tokens of the pages
 * already seen are kept, so "Previous page" goes back without the server needing backward tokens.
 */
import { useState } from 'react';

export interface Pages {
  from: string | undefined;
  page: number;
  next(token: string): void;
  previous(): void;
  reset(): void;
}

export function usePages(): Pages {
  const [tokens, setTokens] = useState<Array<string | undefined>>([undefined]);
  return {
    from: tokens[tokens.length - 1],
    page: tokens.length,
    next: (token) => setTokens((t) => [...t, token]),
    previous: () => setTokens((t) => (t.length > 1 ? t.slice(0, -1) : t)),
    reset: () => setTokens([undefined]),
  };
}

export function Pager({ label, pages, nextFrom }: { label: string; pages: Pages; nextFrom: string | undefined }) {
  if (pages.page === 1 && !nextFrom) return null;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={pages.page === 1} onClick={pages.previous}>
        Previous page
      </button>
      <span aria-live="polite">Page {pages.page}</span>
      <button type="button" disabled={!nextFrom} onClick={() => nextFrom && pages.next(nextFrom)}>
        Next page
      </button>
    </nav>
  );
}
