// The web dashboard's entry point: mounts the app into #app (index.html) and asks the server
// who is signed in.
import { render } from 'preact';
import { html } from './html.js';
import { App } from './app.js';
import { loadSession, signedOut } from './session.js';

render(html`<${App} />`, document.getElementById('app'));
// A server that cannot answer leaves the visitor signed out (public pages still work).
loadSession().catch(() => signedOut());
