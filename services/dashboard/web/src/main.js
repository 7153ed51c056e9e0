// The web dashboard's entry point: mounts the app into #app (index.html).
import { render } from 'preact';
import { html } from './html.js';
import { App } from './app.js';

render(html`<${App} />`, document.getElementById('app'));
