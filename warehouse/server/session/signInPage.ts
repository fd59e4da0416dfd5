// The sign-in page: one labelled password field for an API key or an identity provider's access
// token, and a button, in the NHS.UK frontend's form markup. Server-rendered, no scripts, every value
// escaped; a refusal is shown in an error summary that links to the field (the NHS.UK and GOV.UK
// pattern) and never repeats what was typed. Pure.

import { escapeHtml, nhsPage } from '../pages.ts';

export interface SignInView {
  /** Where to go after signing in; already checked to be a path on this server. */
  next: string;
  /** Why the last attempt was refused, in words for the person. */
  problem?: string;
}

export function signInPage(view: SignInView): string {
  const error = view.problem;
  const summary = error
    ? `<div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1"><h2 class="nhsuk-error-summary__title" id="error-summary-title">There is a problem</h2><div class="nhsuk-error-summary__body"><ul class="nhsuk-list nhsuk-error-summary__list"><li><a href="#token">${escapeHtml(error)}</a></li></ul></div></div>`
    : '';
  const described = error ? 'token-hint token-error' : 'token-hint';
  const main = `${summary}
<h1>Sign in to carelake</h1>
<p>Use the API key you were given (it starts <code>clk_</code>) or an access token from your organisation's sign-in service. It proves who you are for this browser session only: you stay signed in until you sign out, close the browser, or leave it unused for a while.</p>
<form method="post" action="/sign-in" novalidate>
<input type="hidden" name="next" value="${escapeHtml(view.next)}">
<div class="nhsuk-form-group${error ? ' nhsuk-form-group--error' : ''}">
<label class="nhsuk-label" for="token">API key or access token</label>
<div class="nhsuk-hint" id="token-hint">Paste it in full. It is not shown as you type.</div>
${error ? `<span class="nhsuk-error-message" id="token-error"><span class="nhsuk-u-visually-hidden">Error:</span> ${escapeHtml(error)}</span>` : ''}
<input class="nhsuk-input${error ? ' nhsuk-input--error' : ''}" type="password" id="token" name="token" required autocomplete="current-password" spellcheck="false" aria-describedby="${described}"${error ? ' aria-invalid="true"' : ''}>
</div>
<button class="nhsuk-button" type="submit">Sign in</button>
</form>`;
  return nhsPage({ title: `${error ? 'Error: ' : ''}Sign in` }, main);
}

/** Who is signed in, and a button that signs out: a POST with the CSRF field, so no other site can sign anyone out. */
export function signOutForm(csrfField: string, principalName: string): string {
  return `<form method="post" action="/sign-out" class="carelake-account__form">${csrfField}<span>Signed in as <strong>${escapeHtml(principalName)}</strong></span> <button class="nhsuk-button nhsuk-button--reverse nhsuk-button--small" type="submit">Sign out</button></form>`;
}
