import { render } from 'preact'
import { html } from 'htm/preact'
import { App } from './views/app.js'

const root = document.getElementById('app')
if (root !== null) render(html`<${App} />`, root)
