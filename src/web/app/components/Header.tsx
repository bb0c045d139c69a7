// The header on every page: brand, navigation, the word search box and sign-in (a pasted token becomes a session
// cookie; the page reloads so that every photo is fetched as the new viewer).
import { useEffect, useState } from 'preact/hooks';
import { me, signIn, signOut } from '../auth.js';
import { navigate } from '../router.js';
import { href, type Route } from '../routes.js';
import { useSignal } from '../signal.js';
import { asApiError } from './async.js';

function SignIn() {
  const viewer = useSignal(me);
  const [open, setOpen] = useState(false);
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);

  if (viewer.owner) {
    return (
      <div class="signin">
        <a href={href.person(viewer.owner)} class="who" data-testid="signed-in-as">
          {viewer.owner}
        </a>
        <button
          type="button"
          class="link-button"
          onClick={() => {
            signOut().then(
              () => window.location.reload(),
              () => window.location.reload(),
            );
          }}
        >
          Sign out
        </button>
      </div>
    );
  }
  if (!open) {
    return (
      <div class="signin">
        <button type="button" class="link-button" onClick={() => setOpen(true)}>
          Sign in
        </button>
      </div>
    );
  }
  return (
    <form
      class="signin signin-form"
      onSubmit={(e) => {
        e.preventDefault();
        const t = token.trim();
        if (!t) return;
        setError(null);
        signIn({ token: t }).then(
          () => window.location.reload(),
          (err: unknown) => setError(asApiError(err).message),
        );
      }}
    >
      <input
        type="password"
        name="token"
        placeholder="API token"
        aria-label="API token"
        autoComplete="off"
        value={token}
        onInput={(e) => setToken(e.currentTarget.value)}
      />
      <button type="submit">Sign in</button>
      <button type="button" class="link-button" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error && (
        <span class="signin-error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}

export function SearchBox({ initial = '', autoFocus = false }: { initial?: string; autoFocus?: boolean }) {
  const [q, setQ] = useState(initial);
  useEffect(() => setQ(initial), [initial]);
  return (
    <form
      class="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (q.trim()) navigate(href.search(q.trim()));
      }}
    >
      <input
        type="search"
        name="q"
        placeholder="Search: puppy, seashore, red wine…"
        aria-label="Search photos by words"
        value={q}
        autoFocus={autoFocus}
        onInput={(e) => setQ(e.currentTarget.value)}
      />
      <button type="submit">Search</button>
    </form>
  );
}

export function Header({ route }: { route: Route }) {
  const viewer = useSignal(me);
  return (
    <header class="header">
      <a class="brand" href={href.home()}>
        Pictograph
      </a>
      <nav class="nav">
        <a href={href.home()} class={route.page === 'home' || route.page === 'category' ? 'active' : ''}>
          Explore
        </a>
        {viewer.owner && (
          <a href={href.person(viewer.owner)} class={route.page === 'person' ? 'active' : ''}>
            Me
          </a>
        )}
        {viewer.owner && (
          <a href={href.people()} class={route.page === 'people' || route.page === 'people-person' ? 'active' : ''}>
            People
          </a>
        )}
        <a href={href.compare()} class={route.page === 'compare' ? 'active' : ''}>
          Compare
        </a>
        <a href={href.upload()} class={route.page === 'upload' ? 'active' : ''}>
          Upload
        </a>
        {viewer.owner && (
          <a href={href.teach()} class={route.page === 'teach' ? 'active' : ''}>
            Teach
          </a>
        )}
      </nav>
      {route.page !== 'home' && route.page !== 'search' && <SearchBox />}
      <SignIn />
    </header>
  );
}
