// Entry point: redeems a sign-in link, mounts the app, turns link clicks into in-app navigation, and asks who is
// signed in.
import { render } from 'preact';
import { App } from './App.js';
import { migrateStoredToken, redeemSignInLink, refreshMe } from './auth.js';
import { interceptLinks } from './router.js';
import './styles.css';

const root = document.getElementById('app');
if (!root) throw new Error('missing #app');
interceptLinks(document.body);
// A sign-in link is redeemed before any page asks for photos, so the first requests already carry the session.
void (async () => {
  await redeemSignInLink();
  await migrateStoredToken();
  render(<App />, root);
  await refreshMe().catch(() => undefined);
})();
