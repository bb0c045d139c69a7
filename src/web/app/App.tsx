// The app shell: header, the page for the current route, footer.
import { notice } from './auth.js';
import { Header } from './components/Header.js';
import { useSignal } from './signal.js';
import { useRoute } from './router.js';
import { href } from './routes.js';
import { CategoryPage } from './pages/Category.js';
import { TagPage } from './pages/Tag.js';
import { ComparePage } from './pages/Compare.js';
import { Home } from './pages/Home.js';
import { PersonPage } from './pages/Person.js';
import { PhotoPage } from './pages/Photo.js';
import { SearchPage } from './pages/Search.js';
import { UploadPage } from './pages/Upload.js';
import { TeachPage } from './pages/Teach.js';
import { PeoplePage, PeoplePersonPage } from './pages/People.js';

function Page() {
  const route = useRoute();
  switch (route.page) {
    case 'home':
      document.title = 'Pictograph';
      return <Home />;
    case 'category':
      return <CategoryPage key={route.wnid} wnid={route.wnid} owner={route.owner} />;
    case 'tag':
      return <TagPage key={route.tag} tag={route.tag} owner={route.owner} />;
    case 'photo':
      return <PhotoPage key={route.id} id={route.id} />;
    case 'person':
      return <PersonPage key={route.name} name={route.name} />;
    case 'compare':
      return <ComparePage a={route.a} b={route.b} />;
    case 'search':
      return <SearchPage q={route.q} />;
    case 'upload':
      return <UploadPage />;
    case 'teach':
      return <TeachPage />;
    case 'people':
      return <PeoplePage />;
    case 'people-person':
      return <PeoplePersonPage key={route.id} id={route.id} />;
    default:
      document.title = 'Not found — Pictograph';
      return (
        <div class="page">
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href={href.home()}>Back to exploring</a>.
          </p>
        </div>
      );
  }
}

function Notice() {
  const text = useSignal(notice);
  if (!text) return null;
  return (
    <div class="notice" role="alert" data-testid="notice">
      <span>{text}</span>
      <button type="button" class="link-button" onClick={() => notice.set(null)}>
        Dismiss
      </button>
    </div>
  );
}

export function App() {
  const route = useRoute();
  return (
    <>
      <Header route={route} />
      <Notice />
      <main>
        <Page />
      </main>
      <footer class="footer muted small">
        Pictograph — ImageNet classification lifted through WordNet. <a href="/docs">API</a>
      </footer>
    </>
  );
}
