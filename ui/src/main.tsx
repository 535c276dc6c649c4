import { render } from 'preact';
import { App } from './app';
import { CaPage } from './ca-page';
import './styles.css';

// Two pages at the same depth (B and B + 'ca'), so every relative URL means the same on both.
const root = document.getElementById('app')!;
render(/\/ca$/.test(location.pathname) ? <CaPage /> : <App />, root);
