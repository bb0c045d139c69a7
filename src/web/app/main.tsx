// Entry point: mounts the app, turns link clicks into in-app navigation, and restores the signed-in viewer.
import { render } from 'preact';
import { App } from './App.js';
import { refreshMe } from './components/Header.js';
import { interceptLinks } from './router.js';
import './styles.css';

const root = document.getElementById('app');
if (!root) throw new Error('missing #app');
interceptLinks(document.body);
render(<App />, root);
refreshMe().catch(() => undefined);
