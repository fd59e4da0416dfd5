// The sign-in page: one labelled password field for an API key or an identity provider's access
// token, and a button. Server-rendered, no scripts, every value escaped; a refusal is shown in an
// error summary that links to the field (GOV.UK's pattern) and never repeats what was typed. Pure.

import { escapeHtml } from '../pages.ts';

const STYLE = `
body { font-family: system-ui, Arial, sans-serif; margin: 2rem auto; max-width: 40rem; padding: 0 1rem; color: #212b32; line-height: 1.5; }
a { color: #005eb8; }
a:focus, button:focus, input:focus { outline: 3px solid #ffeb3b; outline-offset: 1px; }
label { display: block; font-weight: bold; }
input { font: inherit; width: 100%; box-sizing: border-box; padding: 0.3rem; border: 2px solid #212b32; }
input[aria-invalid="true"] { border-color: #d5281b; }
button { font: inherit; margin-top: 1rem; padding: 0.4rem 1rem; }
.hint { color: #4c6272; display: block; }
.error-summary { border: 4px solid #d5281b; padding: 0.6rem 1rem; }
.error-message { color: #d5281b; font-weight: bold; display: block; }
`;

export interface SignInView {
  /** Where to go after signing in; already checked to be a path on this server. */
  next: string;
  /** Why the last attempt was refused, in words for the person. */
  problem?: string;
}

export function signInPage(view: SignInView): string {
  const error = view.problem;
  const summary = error
    ? `<div class="error-summary" role="alert" aria-labelledby="error-summary-title"><h2 id="error-summary-title">There is a problem</h2><ul><li><a href="#token">${escapeHtml(error)}</a></li></ul></div>`
    : '';
  const described = error ? 'token-hint token-error' : 'token-hint';
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${error ? 'Error: ' : ''}Sign in – carelake</title>
<style>${STYLE}</style>
</head>
<body>
<main id="main">
${summary}
<h1>Sign in to carelake</h1>
<p>Use the API key you were given (it starts <code>clk_</code>) or an access token from your organisation's sign-in service. It proves who you are for this browser session only: you stay signed in until you sign out, close the browser, or leave it unused for a while.</p>
<form method="post" action="/sign-in" novalidate>
<input type="hidden" name="next" value="${escapeHtml(view.next)}">
<label for="token">API key or access token</label>
<span class="hint" id="token-hint">Paste it in full. It is not shown as you type.</span>
${error ? `<span class="error-message" id="token-error">Error: ${escapeHtml(error)}</span>` : ''}
<input type="password" id="token" name="token" required autocomplete="current-password" spellcheck="false" aria-describedby="${described}"${error ? ' aria-invalid="true"' : ''}>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

/** Who is signed in, and a button that signs out: a POST with the CSRF field, so no other site can sign anyone out. */
export function signOutForm(csrfField: string, principalName: string): string {
  return `<form method="post" action="/sign-out">${csrfField}<p>Signed in as <strong>${escapeHtml(principalName)}</strong>. <button type="submit">Sign out</button></p></form>`;
}
