// The Directory and Timeline APIs, called with relative URLs: whatever serves the console routes
// both on its origin (the Ingress in production, contactd's console port in development).

let bearer = () => null;
let unauthorized = () => {};

/** Where the token comes from and what to do when the APIs refuse it. */
export function configure({ token, onUnauthorized }) {
  bearer = token;
  unauthorized = onUnauthorized;
}

/** An API error with its RFC 7807 problem (`detail`, `status`, extras such as `owner_contact_id`). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== null && value !== undefined && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function call(method, path, { params, body, signal } = {}) {
  const headers = { accept: 'application/json, application/problem+json' };
  const token = bearer();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path + query(params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: 'omit',
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) unauthorized();
    throw new ApiError(response.status, data);
  }
  return data;
}

const id = encodeURIComponent;

export const api = {
  // Directory API (resolver)
  contacts: (params, signal) => call('GET', '/v1/contacts', { params, signal }),
  contact: (contactId, signal) => call('GET', `/v1/contacts/${id(contactId)}`, { signal }),
  createContact: (body) => call('POST', '/v1/contacts', { body }),
  rename: (contactId, name) => call('PATCH', `/v1/contacts/${id(contactId)}`, { body: { name } }),
  deleteContact: (contactId, erase) =>
    call('DELETE', `/v1/contacts/${id(contactId)}`, { params: { erase: erase ? 'true' : null } }),
  addIdentity: (contactId, identity) => call('POST', `/v1/contacts/${id(contactId)}/identities`, { body: identity }),
  editIdentity: (contactId, identityId, value) =>
    call('PATCH', `/v1/contacts/${id(contactId)}/identities/${id(identityId)}`, { body: { value } }),
  removeIdentity: (contactId, identityId) => call('DELETE', `/v1/contacts/${id(contactId)}/identities/${id(identityId)}`),
  mergePreview: (survivor, other, signal) =>
    call('GET', `/v1/contacts/${id(survivor)}/merge-preview`, { params: { with: other }, signal }),
  merge: (survivor, merged, name) =>
    call('POST', `/v1/contacts/${id(survivor)}/merge`, { body: { merged_contact_id: merged, name } }),
  merges: (contactId, signal) => call('GET', `/v1/contacts/${id(contactId)}/merges`, { signal }),
  unmerge: (mergeId) => call('POST', `/v1/merges/${id(mergeId)}/unmerge`),
  decideProposal: (contactId, proposalId, decision) =>
    call('POST', `/v1/contacts/${id(contactId)}/proposed-identities/${id(proposalId)}`, { body: { decision } }),
  duplicates: (signal) => call('GET', '/v1/duplicates', { signal }),
  acceptDuplicate: (pair) => call('POST', '/v1/duplicates/accept', { body: pair }),
  dismissDuplicate: (pair) => call('POST', '/v1/duplicates/dismiss', { body: pair }),
  linkOf: (conversationRef, signal) => call('GET', `/v1/conversations/${id(conversationRef)}/link`, { signal }),
  link: (conversationRef, contactId) =>
    call('POST', `/v1/conversations/${id(conversationRef)}/link`, { body: { contact_id: contactId } }),
  unlink: (conversationRef) => call('POST', `/v1/conversations/${id(conversationRef)}/unlink`),
  definitions: (signal) => call('GET', '/v1/identifier-definitions', { signal }),
  putDefinition: (definition) => call('POST', '/v1/identifier-definitions', { body: definition }),
  patchDefinition: (name, patch) => call('PATCH', `/v1/identifier-definitions/${id(name)}`, { body: patch }),
  deleteDefinition: (name) => call('DELETE', `/v1/identifier-definitions/${id(name)}`),
  blockedValues: (signal) => call('GET', '/v1/blocked-values', { signal }),
  block: (blocked) => call('POST', '/v1/blocked-values', { body: blocked }),
  // Timeline API
  timeline: (contactId, params, signal) => call('GET', `/v1/contacts/${id(contactId)}/timeline`, { params, signal }),
  interaction: (interactionId, signal) => call('GET', `/v1/interactions/${id(interactionId)}`, { signal }),
  search: (params, signal) => call('GET', '/v1/search', { params, signal }),
  unidentified: (params, signal) => call('GET', '/v1/conversations/unidentified', { params, signal }),
};
