import { escapeHtml } from "./http";
import type { SignInUser } from "./options";

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}button{font:inherit;padding:.6rem 1rem;margin:.25rem 0;cursor:pointer;width:100%;text-align:left}
.note{color:#555;font-size:.9rem}.row{display:flex;gap:.5rem}.row button{text-align:center}</style></head>
<body><p class="note">Microsoft Entra ID — local sandbox</p>${body}</body></html>`;
}

function hiddenFields(params: URLSearchParams): string {
  return [...params.entries()]
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("");
}

export function signInPage(action: string, params: URLSearchParams, appName: string, users: SignInUser[]): string {
  const forms = users
    .map((user) => {
      const fields = new URLSearchParams(params);
      fields.set("login_hint", user.email);
      const roles = user.roles.length > 0 ? ` — roles: ${user.roles.join(", ")}` : " — no app role";
      return `<form method="post" action="${escapeHtml(action)}">${hiddenFields(fields)}
<button type="submit" data-email="${escapeHtml(user.email)}">${escapeHtml(user.name)} &lt;${escapeHtml(user.email)}&gt;${escapeHtml(roles)}</button></form>`;
    })
    .join("");
  return page(
    "Sign in to your account",
    `<h1>Pick an account</h1><p>to continue to ${escapeHtml(appName)}</p>${forms}`,
  );
}

export function consentPage(action: string, params: URLSearchParams, appName: string, permissions: string[]): string {
  const list = permissions.map((p) => `<li>${escapeHtml(p)}</li>`).join("");
  return page(
    "Permissions requested",
    `<h1>Permissions requested</h1><p><strong>${escapeHtml(appName)}</strong> needs permission to:</p><ul>${list}</ul>
<p class="note">Accepting grants these permissions for your whole organisation.</p>
<form method="post" action="${escapeHtml(action)}">${hiddenFields(params)}<div class="row">
<button type="submit" name="decision" value="cancel">Cancel</button>
<button type="submit" name="decision" value="accept">Accept</button></div></form>`,
  );
}

export function errorPage(code: number, message: string): string {
  return page(
    "Sign in error",
    `<h1>Sorry, but we're having trouble signing you in.</h1><p>AADSTS${code}: ${escapeHtml(message)}</p>`,
  );
}

/** response_mode=form_post: the browser posts the result to the redirect URI. */
export function formPostPage(redirectUri: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("");
  return `<!doctype html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()">
<form method="post" action="${escapeHtml(redirectUri)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form></body></html>`;
}
